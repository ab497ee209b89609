"""The sandbox account's fixed names: its id and region, and the keys of its administrator and its root user.

They are the same in every home of the account, so that a chapter prints the same ARNs wherever it runs.
"""

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ADMIN_ACCESS_KEY_ID = "AKIASANDBOXADMIN0001"
ADMIN_SECRET_ACCESS_KEY = "sandbox/administrator/not-a-real-secret-key"
ADMIN_USER_NAME = "administrator"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/{ADMIN_USER_NAME}"
ROOT_ACCESS_KEY_ID = "AKIASANDBOXROOT00001"
ROOT_SECRET_ACCESS_KEY = "sandbox/root/not-a-real-secret-key"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
DEFAULT_SEED = 20240611

# Variables that could steer botocore towards real credentials or a real endpoint. All of them are removed while
# the sandbox runs (and put back by stop()); the sandbox then sets only the ones it means.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CA_BUNDLE", "AWS_SSO_SESSION",
    "MOTO_ACCOUNT_ID",
)

