"""``coldbench local-aws``: a stand-in for AWS on this machine, behind ``AWS_ENDPOINT_URL``.

Shaped like moto's per-service split: :mod:`codec` (routes and wire format from botocore's
service model) → :mod:`backend` (the Lambda control plane's state and rules, no HTTP) →
:mod:`plane` (real local Lambda environments per function version, a listener per
Function URL); :mod:`server` puts it behind one endpoint with moto for IAM, STS,
CloudWatch Logs and metrics, and tagging.
"""
