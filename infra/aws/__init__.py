"""The AWS provisioner in plain boto3: preflight, up, recycle, down, status."""
