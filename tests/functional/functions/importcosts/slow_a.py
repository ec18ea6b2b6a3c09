import time

import slow_b

time.sleep(0.3)
NAME = "a" + slow_b.NAME
