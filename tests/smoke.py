import sys, time, requests
sys.path.insert(0, "/work/main")
from tests.servers import Stack, wait_until
s = Stack()
t0=time.monotonic()
s.start()
print("started in", time.monotonic()-t0)
try:
    r = requests.post(f"{s.api}/api/submissions/", json={"name":"Ada <b>","email":"ada@example.com","message":"hi & bye","company":"ACME"})
    print(r.status_code, r.text)
    t1=time.monotonic()
    wait_until(lambda: requests.get(f"{s.maildev}/api/email").json(), timeout=30, what="email")
    print("email after", time.monotonic()-t1)
    st = wait_until(lambda: (lambda d: d if d["status"] in ("COMPLETED","COMPENSATED") else None)(requests.get(r.json()["status_url"]).json()), timeout=30, what="done")
    print("done after", time.monotonic()-t1)
    import json; print(json.dumps(st, indent=1)[:3000])
    print(requests.get(f"{s.crm}/leads/").json())
finally:
    print(s.logs()[-6000:])
    s.stop()
