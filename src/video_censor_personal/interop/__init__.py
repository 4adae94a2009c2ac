"""The locked models as other tools expect them: a Hugging Face cache, an S3 bucket, an SBOM.

Each module here reads the lock and the verified cache and writes them out in another tool's
format; none of them changes what the lock says. s3.py also reads a bucket back, as a
pooch-protocol downloader that transfer/fetch.py picks for `s3://` mirrors.
"""
