"""S3's operations as S3 authorises them: bucket actions on the bucket ARN, object actions on bucket/key.

The bucket policy is the resource-based policy of every check on the bucket or its objects. ``ListObjects`` and
``ListObjectsV2`` are the action ``s3:ListBucket`` (on the bucket) with the condition keys ``s3:prefix``,
``s3:delimiter`` and ``s3:max-keys``; ``HeadObject`` is ``s3:GetObject``; ``CopyObject`` needs ``s3:GetObject`` on
the source as well as ``s3:PutObject`` on the target.
"""

from __future__ import annotations

from urllib.parse import unquote

from . import Call, Check, ResourcePolicy, Rule, ServiceTable, as_list, document


def _bucket(call: Call) -> list:
    return [f"arn:{call.partition}:s3:::{call.param('Bucket', '*')}"]


def _object(call: Call) -> list:
    return [f"arn:{call.partition}:s3:::{call.param('Bucket', '*')}/{call.param('Key', '*')}"]


def _objects(call: Call) -> list:
    """DeleteObjects is authorised as s3:DeleteObject on each key it names."""
    delete = call.param("Delete") or {}
    keys = [o.get("Key") for o in as_list(delete.get("Objects")) if isinstance(o, dict) and o.get("Key")]
    bucket = call.param("Bucket", "*")
    return [f"arn:{call.partition}:s3:::{bucket}/{key}" for key in keys] or [f"arn:{call.partition}:s3:::{bucket}/*"]


def _bucket_policy(call: Call) -> ResourcePolicy:
    bucket = call.param("Bucket")
    text = call.state.bucket_policy(bucket) if bucket else None
    return ResourcePolicy(text, f"bucket policy of {bucket}")


def _list_context(call: Call) -> dict:
    context = {"s3:prefix": call.param("Prefix"), "s3:delimiter": call.param("Delimiter")}
    if call.params.get("MaxKeys") is not None:
        context["s3:max-keys"] = str(call.params["MaxKeys"])
    return {k: v for k, v in context.items() if v is not None}


def _copy_source(call: Call) -> list:
    source = unquote(str(call.param("CopySource", ""))).lstrip("/").split("?", 1)[0]
    bucket = source.split("/", 1)[0]
    text = call.state.bucket_policy(bucket) if bucket else None
    return [Check("s3:GetObject", f"arn:{call.partition}:s3:::{source}", {},
                  ResourcePolicy(text, f"bucket policy of {bucket}"))]


def _rules() -> dict:
    rules = {}

    def add(operations, action, resources, **kw):
        for operation in operations.split():
            rules[operation] = Rule(f"s3:{action or operation}", resources, resource_policy=_bucket_policy, **kw)

    add("ListObjects ListObjectsV2 HeadBucket", "ListBucket", _bucket, context=_list_context)
    add("ListObjectVersions", "ListBucketVersions", _bucket, context=_list_context)
    add("ListMultipartUploads", "ListBucketMultipartUploads", _bucket)
    add("PutBucketPolicy", None, _bucket, documents=(document("Policy", "resource", "bucket policy"),))
    add("CreateBucket DeleteBucket GetBucketPolicy DeleteBucketPolicy GetBucketLocation GetBucketTagging "
        "PutBucketTagging GetBucketVersioning PutBucketVersioning GetBucketAcl PutBucketAcl GetBucketCors "
        "PutBucketCors GetBucketPolicyStatus", None, _bucket)
    add("GetPublicAccessBlock", "GetBucketPublicAccessBlock", _bucket)
    add("PutPublicAccessBlock", "PutBucketPublicAccessBlock", _bucket)
    add("DeletePublicAccessBlock", "PutBucketPublicAccessBlock", _bucket)
    add("GetBucketEncryption", "GetEncryptionConfiguration", _bucket)
    add("PutBucketEncryption", "PutEncryptionConfiguration", _bucket)
    add("GetObject HeadObject GetObjectAttributes", "GetObject", _object)
    add("PutObject CreateMultipartUpload UploadPart CompleteMultipartUpload", "PutObject", _object)
    add("AbortMultipartUpload", None, _object)
    add("CopyObject", "PutObject", _object, also=_copy_source)
    add("DeleteObject", None, _object)
    add("DeleteObjects", "DeleteObject", _objects)
    add("GetObjectTagging PutObjectTagging DeleteObjectTagging GetObjectAcl PutObjectAcl", None, _object)
    rules["ListBuckets"] = Rule("s3:ListAllMyBuckets")
    return rules


TABLE = ServiceTable(signing_name="s3", model_name="s3", prefix="s3", rules=_rules(),
                     malformed_code="MalformedPolicy")
