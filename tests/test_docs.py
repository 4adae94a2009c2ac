"""The documentation says what the tool really does.

1. Every error message the code can print is in docs/troubleshooting.md.

   Messages are collected from the source with `ast`, not from a list kept by hand:
   - every construction `X(message, hint=...)` (raised or not) where X is a subclass of
     VideoCensorError in errors.py, and `type(error)(...)` re-constructions of one;
   - every `TransferFailure(kind, reason)`: its reason is printed under the error, one
     line per source that failed;
   - every string the CLI prints that starts with `error:` or `hint:`;
   - messages passed through a helper: a function that builds one of the above from its
     own parameter (config's `where.fail(message, ...)`, lockfile's `_check_unique`) makes
     each call of it a message source too;
   - a message held in a variable or a module constant (`hint=_REGENERATE`,
     `message = f"..."`, `PATH_HINT.format(...)`), and a placeholder whose variable holds
     one of a few literal strings (`what = "a" if ... else "b"`): each alternative counts.
   From each message the literal text between placeholders is taken; every piece of at
   least MIN_FRAGMENT characters (stripped of spaces and punctuation at its ends) must be
   in the page, whitespace collapsed. A failure names file:line, the class and the piece.

2. Every `video-censor ...` command line shown in README.md and docs/*.md names commands
   and flags that exist, where they are given (root options before the subcommand), and
   parses: it is run in-process with `--help` appended.
"""

from __future__ import annotations

import ast
import functools
import re
import shlex
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "video_censor_personal"
TROUBLESHOOTING = ROOT / "docs" / "troubleshooting.md"
MIN_FRAGMENT = 12
ROOT_ERROR = "VideoCensorError"
# Exceptions that are not VideoCensorErrors but whose text is printed: class -> argument index of the text.
PRINTED_EXCEPTIONS = {"TransferFailure": 1}
_PUNCTUATION = " \t\n:;,.(){}[]'\"`-=>"


# ---------------------------------------------------------------- 1. collecting messages


@dataclass(frozen=True)
class Message:
    """One literal piece of a message that the tool can print."""

    file: str
    line: int
    source: str  # the class (or `click.echo`, or the helper) that prints it
    role: str  # message | hint | reason | echo
    fragment: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.source} {self.role} fragment {self.fragment!r}"


def error_classes(errors_py: Path) -> set[str]:
    """Names of VideoCensorError and of every class deriving from it in errors.py."""
    tree = ast.parse(errors_py.read_text(encoding="utf-8"))
    found = {ROOT_ERROR}
    changed = True
    while changed:
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name not in found:
                bases = {base.id for base in node.bases if isinstance(base, ast.Name)}
                if bases & found:
                    found.add(node.name)
                    changed = True
    return found


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _is_type_call(node: ast.AST) -> bool:
    """`type(error)(...)`: the class of an error object, constructed again."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type"
            and len(node.args) == 1)


class _Module:
    """One source file: its tree, with parents and assignments indexed for look-ups."""

    def __init__(self, path: Path, root: Path):
        self.path = path
        self.name = path.relative_to(root).as_posix()
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.parent: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node

    def function_of(self, node: ast.AST) -> ast.AST:
        """The innermost function around `node`, else the module."""
        while node in self.parent:
            node = self.parent[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return node
        return self.tree

    def assigned(self, scope: ast.AST, name: str) -> list[ast.expr]:
        """Values assigned to `name` in `scope` (not in nested functions), else at module level."""
        values = [node.value for node in self._own_nodes(scope) if isinstance(node, (ast.Assign, ast.AnnAssign))
                  and node.value is not None and any(_binds(target, name) for target in _targets(node))]
        if not values and scope is not self.tree:
            return self.assigned(self.tree, name)
        return values

    def _own_nodes(self, scope: ast.AST) -> Iterator[ast.AST]:
        todo = list(ast.iter_child_nodes(scope))
        while todo:
            node = todo.pop()
            yield node
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                todo.extend(ast.iter_child_nodes(node))


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _binds(target: ast.expr, name: str) -> bool:
    if isinstance(target, ast.Name):
        return target.id == name
    if isinstance(target, ast.Tuple):
        return any(_binds(element, name) for element in target.elts)
    return False


def _parameter_names(function: ast.AST) -> set[str]:
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return set()
    arguments = function.args
    return {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}


class _Pieces:
    """The literal pieces of a string expression, following names one level of data flow deep."""

    def __init__(self, module: _Module, scope: ast.AST):
        self.module, self.scope = module, scope
        self.parameters: set[str] = set()  # parameters of `scope` the expression uses as text

    def of(self, node: ast.AST | None, depth: int = 0) -> list[str]:
        if node is None or depth > 4:
            return []
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):
            pieces = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    pieces.append(value.value)
                elif isinstance(value, ast.FormattedValue):
                    pieces += self._placeholder(value.value, depth)
            return pieces
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.of(node.left, depth + 1) + self.of(node.right, depth + 1)
        if isinstance(node, ast.IfExp):
            return self.of(node.body, depth + 1) + self.of(node.orelse, depth + 1)
        if isinstance(node, ast.Name):
            if node.id in _parameter_names(self.scope):
                self.parameters.add(node.id)
                return []
            return [piece for value in self.module.assigned(self.scope, node.id) for piece in self.of(value, depth + 1)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return [piece for text in self.of(node.func.value, depth + 1) for piece in re.split(r"\{[^{}]*\}", text)]
        return []

    def _placeholder(self, node: ast.AST, depth: int) -> list[str]:
        """A `{name}` whose variable holds literal text (one of a few alternatives) prints that text."""
        if isinstance(node, ast.Name) and node.id in _parameter_names(self.scope):
            self.parameters.add(node.id)
            return []
        if isinstance(node, ast.Name):
            literal = (ast.Constant, ast.JoinedStr, ast.IfExp)
            return [piece for value in self.module.assigned(self.scope, node.id) if isinstance(value, literal)
                    for piece in self.of(value, depth + 1)]
        return []


def _argument(call: ast.Call, index: int | None, keyword: str) -> ast.expr | None:
    """The expression passed at positional `index` (None: keyword-only) or as `keyword=`."""
    positional = index is not None and len(call.args) > index
    if positional and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


@dataclass(frozen=True)
class _Helper:
    """A function that prints (part of) a message given as its parameter `parameter`."""

    name: str
    role: str
    parameter: str
    index: int | None  # positional index of the parameter at a call (self not counted); None: keyword-only


def _helper_parameters(function: ast.FunctionDef | ast.AsyncFunctionDef, used: set[str], role: str) -> list[_Helper]:
    positional = [a.arg for a in function.args.posonlyargs + function.args.args]
    if positional and positional[0] in ("self", "cls"):
        positional = positional[1:]
    kwonly = [a.arg for a in function.args.kwonlyargs]
    return [_Helper(function.name, role, name, positional.index(name) if name in positional else None)
            for name in sorted(used) if name in positional or name in kwonly]


def collect_messages(package: Path = PACKAGE) -> list[Message]:
    """Every literal message piece in `package` (see the module docstring for what counts).

    Files are named relative to the directory above `src/`.
    """
    return list(_collect(package, package.parents[1]))


@functools.lru_cache(maxsize=4)
def _collect(package: Path, root: Path) -> tuple[Message, ...]:
    classes = error_classes(package / "errors.py")
    modules = [_Module(path, root) for path in sorted(package.rglob("*.py"))]
    helpers: set[_Helper] = set()
    messages: set[Message] = set()
    for _ in range(4):  # helpers of helpers: a fixpoint, reached in two rounds here
        before = len(helpers)
        for module in modules:
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Call):
                    for role, expression, source in _sources(node, classes, frozenset(helpers)):
                        scope = module.function_of(node)
                        pieces = _Pieces(module, scope)
                        for piece in pieces.of(expression):
                            fragment = piece.strip(_PUNCTUATION)
                            if len(fragment) >= MIN_FRAGMENT:
                                messages.add(Message(module.name, node.lineno, source, role, fragment))
                        if pieces.parameters and isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            helpers.update(_helper_parameters(scope, pieces.parameters, role))
        if len(helpers) == before:
            break
    return tuple(sorted(messages, key=lambda m: (m.file, m.line, m.role, m.fragment)))


def _sources(call: ast.Call, classes: set[str], helpers: frozenset[_Helper]) -> Iterator[tuple[str, ast.expr, str]]:
    """(role, text expression, who prints it) for each message `call` makes."""
    name = _callee(call)
    if name in classes or _is_type_call(call.func):
        source = name if name in classes else "type(error)"
        yield "message", _argument(call, 0, "message"), source
        hint = _argument(call, None, "hint")  # keyword-only in VideoCensorError
        if hint is not None:
            yield "hint", hint, source
    elif name in PRINTED_EXCEPTIONS:
        yield "reason", _argument(call, PRINTED_EXCEPTIONS[name], "reason"), name
    elif name == "echo" and call.args:
        text = call.args[0]
        if isinstance(text, ast.Call) and isinstance(text.func, ast.Name) and len(text.args) == 1:
            text = text.args[0]  # click.echo(redact(f"error: ..."))
        first = text.values[0] if isinstance(text, ast.JoinedStr) and text.values else text
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and \
                first.value.startswith(("error:", "hint:")):
            yield "echo", text, "click.echo"
    for helper in helpers:
        if name == helper.name:
            yield helper.role, _argument(call, helper.index, helper.parameter), f"{helper.name}()"


def _normalise(text: str) -> str:
    return " ".join(text.split())


def undocumented(messages: list[Message], page: str) -> list[Message]:
    """The message pieces that do not appear in `page` (whitespace collapsed on both sides)."""
    text = _normalise(page)
    return [message for message in messages if _normalise(message.fragment) not in text]


def test_every_error_message_is_documented_in_troubleshooting():
    messages = collect_messages()
    assert len(messages) >= 100, f"the collector found only {len(messages)} message pieces: is it still working?"
    missing = undocumented(messages, TROUBLESHOOTING.read_text(encoding="utf-8"))
    assert not missing, (
        f"{len(missing)} message piece(s) printed by the code are not in {TROUBLESHOOTING.relative_to(ROOT)}; "
        "add the message (real output, its cause, the fix, the exit code):\n" + "\n".join(map(str, missing)))


PLANTED = '''
from video_censor_personal.errors import ManifestError, NetworkError, UsageError
import click

HINT = "planted constant hint for the user"


class TransferFailure(Exception):
    pass


def fail(where, message, hint=None):
    raise ManifestError(f"{where}: {message}", hint=hint)


def helper_user(where):
    fail(where, "planted message through a helper", hint="planted hint through a helper")


def direct(name):
    raise UsageError(f"planted f-string {name!r} with a placeholder", hint=HINT)


def via_variable(ok):
    what = "planted alternative one" if ok else "planted alternative two"
    message = f"planted message in a variable: {what}"
    return NetworkError(message, hint="run `video-censor {name}` planted format".format(name="x"))


def rebuilt(error):
    return type(error)("planted rebuilt message of several files")


def reason():
    raise TransferFailure("network", "planted transfer reason text")


def echo():
    click.echo("error: planted echo line", err=True)
    click.echo("hint: planted echo hint", err=True)
    click.echo("not an error line, never collected", err=True)
    raise UsageError("short")
'''
PLANTED_FRAGMENTS = {
    "planted message through a helper", "planted hint through a helper", "planted f-string",
    "with a placeholder", "planted constant hint for the user", "planted alternative one", "planted alternative two",
    "planted message in a variable", "planted format", "planted rebuilt message of several files",
    "planted transfer reason text", "error: planted echo line", "hint: planted echo hint",
}


@pytest.fixture
def planted_package(tmp_path):
    """A package beside the real errors.py holding one module with every kind of message source."""
    package = tmp_path / "src" / "video_censor_personal"
    package.mkdir(parents=True)
    (package / "errors.py").write_text((PACKAGE / "errors.py").read_text(encoding="utf-8"), encoding="utf-8")
    (package / "planted.py").write_text(PLANTED, encoding="utf-8")
    return package


def test_the_collector_finds_every_kind_of_message_source(planted_package):
    found = {m.fragment for m in collect_messages(planted_package) if m.file.endswith("planted.py")}
    assert found >= PLANTED_FRAGMENTS, PLANTED_FRAGMENTS - found
    assert "not an error line, never collected" not in found and "short" not in found


def test_a_planted_undocumented_message_is_reported_with_its_file_and_line(planted_package):
    messages = collect_messages(planted_package)
    page = "\n".join(m.fragment for m in messages if "helper" not in m.fragment)
    missing = undocumented(messages, page)
    assert sorted(str(m) for m in missing) == [
        "src/video_censor_personal/planted.py:17: fail() hint fragment 'planted hint through a helper'",
        "src/video_censor_personal/planted.py:17: fail() message fragment 'planted message through a helper'",
    ]


def test_a_message_removed_from_the_page_is_reported():
    page = TROUBLESHOOTING.read_text(encoding="utf-8")
    removed = "sha256 mismatch from every source"
    assert removed in page
    missing = undocumented(collect_messages(), page.replace(removed, "(removed)"))
    assert [str(m) for m in missing] and all(m.fragment.startswith(removed) for m in missing), missing
    assert any(m.file.endswith("fetch.py") and m.source == "IntegrityError" for m in missing)


# ---------------------------------------------------------------- 2. commands shown in the docs


@dataclass(frozen=True)
class CommandLine:
    """One `video-censor ...` invocation found in a fenced code block."""

    file: str
    line: int
    text: str
    argv: tuple[str, ...]  # the words after the program name

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


_PROMPTS = re.compile(r"^(?:\$\s+|-\s*run:\s*)")
_WRONG_ON_PURPOSE = re.compile(r"\s#\s*wrong\b", re.IGNORECASE)  # `$ video-censor models lokc   # wrong: a typo`
_OPERATORS = {"&&", "||", ";", "|", "&", ">", ">>", "<", "(", ")"}


def _program_words(words: list[str]) -> list[str] | None:
    """The arguments when `words` (env assignments skipped) runs video-censor, else None."""
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    if words and (words[0] == "video-censor" or words[0].endswith("/video-censor")):
        return words[1:]
    if len(words) >= 3 and re.search(r"python3?$", words[0]) and words[1:3] == ["-m", "video_censor_personal"]:
        return words[3:]
    return None


def command_lines(markdown: str, file: str) -> list[CommandLine]:
    """Every video-censor command in the fenced code blocks of `markdown` (comments after # ignored).

    A line whose comment starts with `wrong` shows a mistake on purpose and is skipped.
    """
    found, fence = [], None
    for number, raw in enumerate(markdown.splitlines(), start=1):
        stripped = raw.strip()
        marker = re.match(r"^(`{3,}|~{3,})", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)
            elif stripped.startswith(fence) and not stripped[len(fence):].strip():
                fence = None
            continue
        if fence is None:
            continue
        text = _PROMPTS.sub("", stripped)
        if _WRONG_ON_PURPOSE.search(text):
            continue
        lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
        lexer.whitespace_split, lexer.commenters = True, "#"
        try:
            words = list(lexer)
        except ValueError:  # an unbalanced quote: output, not a command
            continue
        segment: list[str] = []
        for word in [*words, ";"]:
            if word not in _OPERATORS:
                segment.append(word)
                continue
            argv = _program_words(segment)
            if argv is not None:
                found.append(CommandLine(file, number, stripped, tuple(argv)))
            segment = []
    return found


def _option_names(command: click.Command) -> dict[str, click.Option]:
    names = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for name in [*param.opts, *param.secondary_opts]:
                names[name] = param
    return names


def _takes_value(option: click.Option) -> bool:
    return not (option.is_flag or option.count)


def _value_left_out(option: click.Option, word: str, rest: tuple[str, ...]) -> bool:
    """An option whose value is optional (`--hf-cache [DIR]`), given bare: click takes no value then."""
    bare = "=" not in word and (not rest or rest[0].startswith("-"))
    return bool(getattr(option, "_flag_needs_value", False)) and bare


def _every_command(command: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += _every_command(sub, (*path, name))
    return found


def _owners(option: str, root: click.Command) -> list[str]:
    return [" ".join(path) for path, command in _every_command(root, ("video-censor",))
            if option in _option_names(command)]


def _bad_value(option: click.Option, name: str, value: str) -> list[str]:
    """A value click would refuse (numbers, ranges, choices; paths are not looked up)."""
    if isinstance(option.type, (click.Path, click.File)) or option.type is click.STRING:
        return []
    try:
        option.type.convert(value, option, None)
    except click.BadParameter as error:
        return [f"`{name} {value}`: {error.message}"]
    return []


def check_command(argv: tuple[str, ...], root: click.Command) -> list[str]:
    """What is wrong with `video-censor ARGV` as written: unknown commands or flags, flags in the
    wrong place, missing values, wrong argument counts, and whether click parses it with --help."""
    problems: list[str] = []
    command, path, positional = root, ["video-censor"], []
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            positional += argv[index:]
            break
        if word.startswith("-") and word != "-":
            name = word.split("=", 1)[0]
            if name in ("--help", "-h"):
                continue
            option = _option_names(command).get(name)
            if option is None:
                owners = _owners(name, root)
                where = f" (it is an option of `{'`, `'.join(owners)}`: put it right after that)" if owners else ""
                problems.append(f"`{name}` is not an option of `{' '.join(path)}`{where}")
            elif _value_left_out(option, word, argv[index:]):
                continue
            elif _takes_value(option):
                values = [word.split("=", 1)[1]] if "=" in word else list(argv[index:index + option.nargs])
                index += 0 if "=" in word else option.nargs
                if len(values) < option.nargs:
                    problems.append(f"`{name}` of `{' '.join(path)}` needs {option.nargs} value(s)")
                elif option.nargs == 1:
                    problems += _bad_value(option, name, values[0])
            continue
        if isinstance(command, click.Group) and not positional:
            sub = command.commands.get(word)
            if sub is None:
                problems.append(f"`{word}` is not a command of `{' '.join(path)}` "
                                f"(commands: {', '.join(sorted(command.commands))})")
                return problems
            command, path = sub, [*path, word]
            continue
        positional.append(word)
    if isinstance(command, click.Group) and not command.invoke_without_command:
        problems.append(f"`{' '.join(path)}` needs a command ({', '.join(sorted(command.commands))})")
    arguments = [param for param in command.params if isinstance(param, click.Argument)]
    most = None if any(a.nargs < 0 for a in arguments) else sum(a.nargs for a in arguments)
    least = sum(a.nargs for a in arguments if a.required and a.nargs > 0)
    if most is not None and len(positional) > most:
        problems.append(f"`{' '.join(path)}` takes {most} argument(s), the line gives {len(positional)}: "
                        f"{' '.join(positional)}")
    if len(positional) < least:
        problems.append(f"`{' '.join(path)}` needs {least} argument(s), the line gives {len(positional)}")
    if not problems:
        problems += click_refuses(argv, root)
    return problems


def click_refuses(argv: tuple[str, ...], root: click.Command) -> list[str]:
    """Run `video-censor ARGV --help` in-process: click parses every word, then prints the help."""
    result = CliRunner().invoke(root, [*argv, "--help"], prog_name="video-censor")
    if result.exit_code == 0 and "Usage:" in result.output:
        return []
    return [f"click does not parse it: exit {result.exit_code}: {result.output.strip()[-300:]}"]


def documented_commands() -> list[CommandLine]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [line for page in pages
            for line in command_lines(page.read_text(encoding="utf-8"), page.relative_to(ROOT).as_posix())]


def test_every_command_shown_in_the_docs_exists_with_its_flags():
    from video_censor_personal.cli import cli

    lines = documented_commands()
    assert len(lines) >= 40, f"only {len(lines)} video-censor command lines found in README.md and docs/"
    assert {line.file for line in lines} >= {"README.md", "docs/ci.md", "docs/troubleshooting.md"}
    bad = [f"{line}\n    {problem}" for line in lines for problem in check_command(line.argv, cli)]
    assert not bad, f"{len(bad)} problem(s) in documented commands:\n" + "\n".join(bad)


def test_command_lines_are_found_in_code_blocks_only():
    markdown = textwrap.dedent("""\
        Run video-censor models lock in prose: not a command line.

        ```sh
        video-censor models lock --check   # offline
        $ HF_ENDPOINT=http://127.0.0.1:8000 .venv/bin/video-censor models search tiny
        python3 -m venv .venv && .venv/bin/video-censor --download-models && echo done
        # Generated by video-censor. Do not edit by hand: run `video-censor models lock`.
        created-by = "video-censor 0.1.0"
        error: no video-censor here
        ```

        ```yaml
              - run: video-censor models verify
        ```
        """)
    found = [(line.line, line.argv) for line in command_lines(markdown, "x.md")]
    assert found == [
        (4, ("models", "lock", "--check")),
        (5, ("models", "search", "tiny")),
        (6, ("--download-models",)),
        (13, ("models", "verify")),
    ]


@pytest.mark.parametrize(("line", "problem"), [
    ("video-censor models lok", "`lok` is not a command of `video-censor models`"),
    ("video-censor models lock --dryrun", "`--dryrun` is not an option of `video-censor models lock`"),
    ("video-censor models lock --offline", "(it is an option of `video-censor`: put it right after that)"),
    ("video-censor models status --lockfile x.lock", "(it is an option of `video-censor`, `video-censor models`"),
    ("video-censor models path", "`video-censor models path` needs 1 argument(s), the line gives 0"),
    ("video-censor models path a b", "`video-censor models path` takes 1 argument(s), the line gives 2"),
    ("video-censor --mirror", "`--mirror` of `video-censor` needs 1 value(s)"),
    ("video-censor models", "`video-censor models` needs a command"),
    ("video-censor analyze clip.mp4 --fps 0", "`--fps 0`: 0.0 is not in the range 0<x<=1000."),
    ("video-censor models search x --limit=many", "`--limit many`: 'many' is not a valid integer"),
])
def test_a_planted_bad_command_is_reported(line, problem):
    from video_censor_personal.cli import cli

    [command] = command_lines(f"```\n{line}\n```\n", "planted.md")
    problems = check_command(command.argv, cli)
    assert any(problem in found for found in problems), problems


def test_the_help_run_is_an_independent_second_check():
    """Without the walk, running the line with --help still refuses what click cannot parse."""
    from video_censor_personal.cli import cli

    assert click_refuses(("--offline", "models", "--lockfile", "ci/models.lock", "lock", "--check"), cli) == []
    for argv, says in [(("models", "lock", "--dryrun"), "No such option"), (("models", "lok"), "No such command"),
                       (("models", "lock", "--offline"), "No such option"), (("analyze", "-x"), "No such option")]:
        [problem] = click_refuses(argv, cli)
        assert problem.startswith("click does not parse it: exit 2") and says in problem, problem
