"""Baseline for bench_locust_user: a bare FastHttpUser with no recorder and no signing."""

from locust import FastHttpUser, constant, task


class BareUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def call(self):
        self.client.get("/")
