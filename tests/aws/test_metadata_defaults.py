"""The account's instance metadata defaults, which moto lacks, as EC2 keeps and applies them.

Pages: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceMetadataDefaults.html,
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetInstanceMetadataDefaults.html and the EC2 User Guide's
order of precedence for instance metadata options (launch parameters over the account's defaults).
"""

from __future__ import annotations

from support import AMI, code_of, refused


def launch(ec2, **kwargs) -> dict:
    instance_id = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, **kwargs)["Instances"][0]["InstanceId"]
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["MetadataOptions"]


def test_defaults_apply_to_instances_launched_later_unless_the_launch_sets_the_option(aws):
    ec2 = aws.client("ec2")
    before = launch(ec2)
    assert ec2.get_instance_metadata_defaults()["AccountLevel"] == {}
    assert ec2.modify_instance_metadata_defaults(HttpTokens="required", HttpPutResponseHopLimit=2)["Return"] is True
    assert ec2.get_instance_metadata_defaults()["AccountLevel"] == {"HttpTokens": "required",
                                                                    "HttpPutResponseHopLimit": 2}
    after = launch(ec2)
    assert (after["HttpTokens"], after["HttpPutResponseHopLimit"]) == ("required", 2)
    chosen = launch(ec2, MetadataOptions={"HttpTokens": "optional"})
    assert (chosen["HttpTokens"], chosen["HttpPutResponseHopLimit"]) == ("optional", 2)
    assert before["HttpTokens"] == "optional"   # an instance launched before keeps its options


def test_no_preference_clears_a_default(aws):
    ec2 = aws.client("ec2")
    ec2.modify_instance_metadata_defaults(HttpTokens="required", HttpEndpoint="enabled")
    ec2.modify_instance_metadata_defaults(HttpTokens="no-preference", HttpPutResponseHopLimit=-1)
    assert ec2.get_instance_metadata_defaults()["AccountLevel"] == {"HttpEndpoint": "enabled"}


def test_a_hop_limit_outside_ec2s_range_is_refused(aws):
    error = refused(aws.client("ec2").modify_instance_metadata_defaults, HttpPutResponseHopLimit=65)
    assert code_of(error) == "InvalidParameterValue"
