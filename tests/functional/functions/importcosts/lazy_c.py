import time

time.sleep(0.05)
NAME = "c"
