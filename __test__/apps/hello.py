import os, sys, time
print("python says hi", os.environ.get("pm_id"), flush=True)
time.sleep(60)
