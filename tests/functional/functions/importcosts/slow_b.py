import time

time.sleep(0.15)
NAME = "b"
