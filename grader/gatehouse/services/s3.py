"""S3's operations as S3 authorises them: bucket actions on the bucket ARN, object actions on bucket/key.

The bucket policy is the resource-based policy of every check on the bucket or its objects. Most operations are the
action of their own name (``reference.py``); the table below holds those S3 authorises otherwise, from each API's
"Permissions" section (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html):
``ListObjects`` and ``ListObjectsV2`` are the action ``s3:ListBucket`` (on the bucket) with the condition keys
``s3:prefix``, ``s3:delimiter`` and ``s3:max-keys``; ``HeadObject`` is ``s3:GetObject``; deleting a bucket's
configuration is the ``Put`` action of that configuration; ``CopyObject`` needs ``s3:GetObject`` on the source as
well as ``s3:PutObject`` on the target.
"""

from __future__ import annotations

from urllib.parse import unquote

from . import Call, Check, Extra, ResourcePolicy, Rule, ServiceTable, as_list, document


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
    """The operations S3 authorises under another action's name (S3's "Required permissions" for each API), and
    those that need more than one check; every other operation is the action of its name."""
    rules = {}

    def add(operations, action, resources, **kw):
        for operation in operations.split():
            rules[operation] = Rule(f"s3:{action or operation}", resources, resource_policy=_bucket_policy, **kw)

    add("ListObjects ListObjectsV2 HeadBucket", "ListBucket", _bucket, context=_list_context)
    add("ListObjectVersions", "ListBucketVersions", _bucket, context=_list_context)
    add("ListMultipartUploads", "ListBucketMultipartUploads", _bucket)
    add("GetPublicAccessBlock", "GetBucketPublicAccessBlock", _bucket)
    add("PutPublicAccessBlock DeletePublicAccessBlock", "PutBucketPublicAccessBlock", _bucket)
    add("GetBucketEncryption", "GetEncryptionConfiguration", _bucket)
    add("PutBucketEncryption DeleteBucketEncryption", "PutEncryptionConfiguration", _bucket)
    add("GetBucketLifecycle GetBucketLifecycleConfiguration", "GetLifecycleConfiguration", _bucket)
    add("PutBucketLifecycle PutBucketLifecycleConfiguration DeleteBucketLifecycle", "PutLifecycleConfiguration",
        _bucket)
    add("GetBucketReplication", "GetReplicationConfiguration", _bucket)
    add("PutBucketReplication DeleteBucketReplication", "PutReplicationConfiguration", _bucket)
    add("GetBucketAccelerateConfiguration", "GetAccelerateConfiguration", _bucket)
    add("PutBucketAccelerateConfiguration", "PutAccelerateConfiguration", _bucket)
    add("GetBucketInventoryConfiguration ListBucketInventoryConfigurations", "GetInventoryConfiguration", _bucket)
    add("PutBucketInventoryConfiguration DeleteBucketInventoryConfiguration", "PutInventoryConfiguration", _bucket)
    add("GetBucketNotificationConfiguration", "GetBucketNotification", _bucket)
    add("PutBucketNotificationConfiguration", "PutBucketNotification", _bucket)
    add("GetObjectLockConfiguration", "GetBucketObjectLockConfiguration", _bucket)
    add("PutObjectLockConfiguration", "PutBucketObjectLockConfiguration", _bucket)
    add("DeleteBucketCors", "PutBucketCORS", _bucket)
    add("DeleteBucketTagging", "PutBucketTagging", _bucket)
    add("DeleteBucketOwnershipControls", "PutBucketOwnershipControls", _bucket)
    add("GetObject HeadObject GetObjectAttributes SelectObjectContent", "GetObject", _object)
    add("PutObject CreateMultipartUpload UploadPart CompleteMultipartUpload", "PutObject", _object)
    add("ListParts", "ListMultipartUploadParts", _object)
    add("CopyObject UploadPartCopy", "PutObject", _object, also=_copy_source)
    add("DeleteObjects", "DeleteObject", _objects)
    rules["ListBuckets"] = Rule("s3:ListAllMyBuckets")
    return rules


TABLE = ServiceTable(signing_name="s3", model_name="s3", prefix="s3", rules=_rules(),
                     malformed_code="MalformedPolicy",
                     variables={"BucketName": lambda call: call.param("Bucket"),
                                "ObjectName": lambda call: call.param("Key")},
                     resource_policy=_bucket_policy,
                     extras={"PutBucketPolicy": Extra(documents=(document("Policy", "resource", "bucket policy"),))})
