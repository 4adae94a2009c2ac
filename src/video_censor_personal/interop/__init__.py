"""The locked models as other tools expect them: a Hugging Face cache, an S3 bucket, an SBOM.

Each module here reads the lock and the verified cache and writes them out in another tool's
format; none of them downloads or changes what the lock says.
"""
