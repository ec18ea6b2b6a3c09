"""The Locust suite: the locustfile, the Function URL user, shapes, signing, recorder.

Import ``locust`` before this package's other modules (gevent patches before boto3).
"""
