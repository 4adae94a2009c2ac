"""The lock as a CycloneDX 1.6 bill of materials (JSON), built with cyclonedx-python-lib.

    metadata.tools.components   video-censor, with its version
    metadata.properties         video-censor:manifest-hash
    components[]                one `machine-learning-model` per locked model, in lock order:
        group/name/version      ORG / NAME / commit; purl pkg:huggingface/ORG/NAME@COMMIT
        properties              video-censor:model, :revision (as requested), :include, :exclude
        components[]            one `file` per locked file: name = path, SHA-256, size
                                (property video-censor:size), its download URL

The same lock gives the same bytes: no timestamp and no serial number, which CycloneDX makes
optional and which would change the document on every run (a CI diff would then show nothing
but noise). `timestamp=True` / `serial_number=True` add them for those who want them.

cyclonedx-python-lib is an optional extra (`sbom`), imported only here.
"""

from __future__ import annotations

import importlib.util
import json

from video_censor_personal import __version__
from video_censor_personal.errors import UsageError
from video_censor_personal.lockfile import LockedFile, LockedModel, Lockfile

PROPERTY = "video-censor:"
MISSING_EXTRA_HINT = "install the `sbom` extra: pip install 'video-censor-personal[sbom]'"


def lock_sbom(lock: Lockfile, *, timestamp: bool = False, serial_number: bool = False) -> str:
    """The CycloneDX 1.6 JSON text of `lock`, deterministic unless asked otherwise."""
    _require_cyclonedx()
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    bom = Bom()
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="video-censor",
                                                version=__version__))
    bom.metadata.properties.add(Property(name=PROPERTY + "manifest-hash", value=lock.manifest_hash))
    for model in lock.models:
        bom.components.add(_model_component(model))
    document = json.loads(JsonV1Dot6(bom).output_as_string())
    if not timestamp:
        document["metadata"].pop("timestamp", None)
    if not serial_number:
        document.pop("serialNumber", None)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _model_component(model: LockedModel):
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    org, _, name = model.repo.rpartition("/")
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        bom_ref=f"model:{model.name}",
        group=org or None,
        name=name,
        version=model.commit,
        purl=PackageURL(type="huggingface", namespace=org or None, name=name, version=model.commit),
        properties=[
            Property(name=PROPERTY + "model", value=model.name),
            Property(name=PROPERTY + "revision", value=model.revision),
            Property(name=PROPERTY + "include", value=json.dumps(list(model.include))),
            Property(name=PROPERTY + "exclude", value=json.dumps(list(model.exclude))),
        ],
        components=[_file_component(model, locked) for locked in model.files],
    )


def _file_component(model: LockedModel, locked: LockedFile):
    from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, Property, XsUri
    from cyclonedx.model.component import Component, ComponentType

    return Component(
        type=ComponentType.FILE,
        bom_ref=f"model:{model.name}/{locked.path}",
        name=locked.path,
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=locked.sha256)],
        properties=[Property(name=PROPERTY + "size", value=str(locked.size))],
        external_references=[ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=XsUri(locked.url))],
    )


def _require_cyclonedx() -> None:
    """A clear error naming the extra to install, rather than an ImportError halfway."""
    if importlib.util.find_spec("cyclonedx") is None or importlib.util.find_spec("packageurl") is None:
        raise UsageError("`models sbom` needs cyclonedx-python-lib, which is not installed",
                         hint=MISSING_EXTRA_HINT)
