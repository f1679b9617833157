"""Soak: a fleet of web processes and timer workers on PostgreSQL, under load, with kill -9 faults.

Starts WEB ``greenflow serve`` processes (each also runs the embedded timer worker) on
127.0.0.1:BASE_PORT… and WORKERS ``greenflow worker`` processes, all on one PostgreSQL
database, sharing GREENFLOW_SECRET_KEY, an upload directory and a Redis rate-limit store.
USERS simulated officials and applicants then work through the REST API (bearer tokens,
issued up front) and read HTML pages (a logged-in session each) for MINUTES:

- applicants start green-manufacturing applications (city or province level), answer
  returns (修改申报材料) and read the status of their applications and their portal pages;
- officials (county, city, the four bureaus, province, the pool's experts; a colleague or two) list
  their inbox, claim and complete tasks with valid form data (mostly pass, sometimes
  return), and read task, instance and inbox pages;
- a seeder starts ``one_timer`` instances (tests/fixtures/timers; in this process through the
  engine, as the API starts only processes a person starts with a form) whose timer falls due
  2–40 s later, so the timer workers keep firing timers throughout the run.

Every KILL_EVERY seconds one web process (round robin) and one worker get ``kill -9`` and
are restarted at once. A user whose process dies retries on the next one (a connection
error, counted apart from HTTP statuses). Every acknowledged (2xx) command is recorded.

At the end: requests/s; p50/p95/p99 latency; responses by status; 5xx (target 0) with
their first bodies; connection errors; lost acknowledged commands — a start, claim or
completion answered 2xx whose event (and task row) is not in the database, or whose row
version went backwards, or two completions acknowledged with the same row version
(target 0); double-fired timers — more than one ``timer_fired`` event for one timer, in
the whole database (target 0); seeded timers that never fired; hash chains that fail
verification, for every instance (target 0); incidents opened during the run; tracebacks
in the processes' logs. ``--json FILE`` writes the figures as JSON.

Usage: python bench/soak.py [--db URL] [--web 3] [--workers 2] [--users 50] [--minutes 10]
                            [--kill-every 60] [--seed 1] [--base-port 5300] [--json FILE]
Without --db it drops and creates the database ``greenflow_soak`` on the local server and
sets it up with ``greenflow init`` / ``greenflow deploy`` and the demo data and accounts.
It talks to 127.0.0.1 only, stops by itself, and kills its child processes on exit or Ctrl-C.
"""
from __future__ import annotations

import argparse
import collections
import ctypes
import datetime as dt
import http.client
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SOAK_DB = "greenflow_soak"
REQUEST_TIMEOUT = 30.0
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

UTC = dt.timezone.utc
try:  # children get SIGTERM if this process dies (even by SIGKILL): no orphans left behind
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _LIBC = None


def _die_with_parent() -> None:
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]  # nearest rank


# --- figures, shared by every thread -------------------------------------------------------

class Figures:
    """Everything the users observe, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: collections.Counter = collections.Counter()
        self.by_status: collections.Counter = collections.Counter()  # (category, status)
        self.server_errors: list[dict] = []
        self.server_error_count = 0
        self.conn_errors: collections.Counter = collections.Counter()
        self.conn_error_samples: list[str] = []
        self.gave_up = 0
        self.retried_requests = 0
        self.acks: list[dict] = []
        self.rejected: collections.Counter = collections.Counter()  # (command, status) of non-2xx commands
        self.rejected_samples: dict[tuple, str] = {}

    def response(self, category: str, method: str, path: str, status: int, seconds: float, body: bytes,
                 retried: bool) -> None:
        with self.lock:
            self.latency[category].append(seconds)
            self.statuses[status] += 1
            self.by_status[(category, status)] += 1
            if retried:
                self.retried_requests += 1
            if status >= 500:
                self.server_error_count += 1
                if len(self.server_errors) < 10:
                    self.server_errors.append({"at": time.time(), "method": method, "path": path, "status": status,
                                               "body": body[:600].decode("utf-8", "replace")})

    def conn_error(self, kind: str, method: str, path: str, port: int) -> None:
        with self.lock:
            self.conn_errors[kind] += 1
            if len(self.conn_error_samples) < 5:
                self.conn_error_samples.append(f"{kind} {method} {path} on :{port}")

    def ack(self, **row) -> None:
        with self.lock:
            self.acks.append({"t": time.time(), **row})

    def refused(self, command: str, status: int, body: bytes) -> None:
        with self.lock:
            self.rejected[(command, status)] += 1
            self.rejected_samples.setdefault((command, status), body[:300].decode("utf-8", "replace"))


# --- HTTP: one client per simulated user, round robin over the web processes -----------------

@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "disconnected"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    return type(exc).__name__


class Client:
    """Keep-alive connections to every web process; a connection error moves on to the next one."""

    def __init__(self, ports: list[int], prefer: int, figures: Figures):
        self.ports = ports
        self.prefer = prefer % len(ports)
        self.figures = figures
        self.conns: dict[int, http.client.HTTPConnection] = {}
        self.cookie: str | None = None

    def _conn(self, port: int) -> http.client.HTTPConnection:
        conn = self.conns.get(port)
        if conn is None:
            conn = self.conns[port] = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        return conn

    def _drop(self, port: int) -> None:
        conn = self.conns.pop(port, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for port in list(self.conns):
            self._drop(port)

    def request(self, method: str, path: str, *, category: str, token: str | None = None, json_body=None,
                form: dict | None = None, use_cookie: bool = False) -> Response | None:
        headers = {"Accept": "application/json" if category.startswith("api") else "text/html"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if use_cookie and self.cookie:
            headers["Cookie"] = self.cookie
        started = time.perf_counter()
        n = len(self.ports)
        for attempt in range(2 * n):
            port = self.ports[(self.prefer + attempt) % n]
            try:
                conn = self._conn(port)
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop(port)
                self.figures.conn_error(error_kind(exc), method, path, port)
                time.sleep(0.05 * (attempt + 1))
                continue
            if resp.will_close:
                self._drop(port)
            result = Response(resp.status, resp.getheaders(), body)
            self.figures.response(category, method, path, resp.status, time.perf_counter() - started, body,
                                  attempt > 0)
            if use_cookie:
                self._keep_cookie(result)
            return result
        with self.figures.lock:
            self.figures.gave_up += 1
        return None

    def _keep_cookie(self, resp: Response) -> None:
        for name, value in resp.headers:
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]


# --- the simulated users ---------------------------------------------------------------------

PASS = {"decision": "pass", "opinion": "材料齐全，符合要求"}
FORM_DATA = {  # form file -> valid data (the common answer)
    "review.schema.json": PASS,
    "bureau_opinion.schema.json": {"opinion": "no_objection"},
    "consultation_decision.schema.json": {"consultation_decision": "proceed", "consultation_reason": "意见已研究，继续办理"},
    "expert_score.schema.json": {"conflict_of_interest": False, "expert_score": 88, "expert_opinion": "良好",
                                 "site_check_needed": True},  # each drawn expert's own score (第十八条)
    "site_check.schema.json": {"site_check_passed": True, "site_check_date": "2026-03-10", "site_check_notes": "属实"},
    "objection_review.schema.json": {"upheld": False, "finding": "经核实，异议不成立", "reply": "经核实，异议不成立"},
    "amend.schema.json": {"amend_note": "已按要求补充能源计量器具配备情况"},
}
RETURN = {"decision": "return", "reason": "请补充能源计量器具配备情况"}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Persona:
    kind: str  # applicant | official
    username: str
    unit: object = None  # the DemoUnit of an applicant
    token: str = ""
    pages: bool = False  # also reads HTML pages (logged in)


class User(threading.Thread):
    def __init__(self, index: int, persona: Persona, ports: list[int], figures: Figures, stop: threading.Event,
                 args, password: str, province: bool):
        super().__init__(name=f"user-{index}-{persona.username}", daemon=True)
        self.persona, self.figures, self.stop, self.args = persona, figures, stop, args
        self.password, self.province = password, province
        self.rng = random.Random(f"{args.seed}:{index}")
        self.client = Client(ports, index, figures)
        self.instances: list[int] = []  # instances seen, for page and status reads
        self.logged_in = False

    # helpers
    def api(self, method: str, path: str, body=None, *, category: str | None = None) -> Response | None:
        category = category or ("api-read" if method == "GET" else "api-command")
        return self.client.request(method, "/api/v1" + path, category=category, token=self.persona.token,
                                   json_body=body if method != "GET" else None)

    def page(self, path: str) -> Response | None:
        if not self.persona.pages:
            return None
        if not self.logged_in and not self.login():
            return None
        resp = self.client.request("GET", path, category="page", use_cookie=True)
        if resp is not None and resp.status in (302, 401):  # the session is gone: log in again next time
            self.logged_in = False
        return resp

    def login(self) -> bool:
        form = self.client.request("GET", "/auth/login", category="page", use_cookie=True)
        if form is None or form.status != 200:
            return False
        match = CSRF.search(form.body.decode("utf-8", "replace"))
        if not match:
            return False
        resp = self.client.request("POST", "/auth/login", category="login", use_cookie=True,
                                   form={"csrf_token": match.group(1), "username": self.persona.username,
                                         "password": self.password})
        self.logged_in = resp is not None and resp.status == 302
        return self.logged_in

    def command(self, name: str, method: str, path: str, body, **known) -> dict | None:
        resp = self.api(method, path, body)
        if resp is None:
            return None
        if not resp.ok:
            self.figures.refused(name, resp.status, resp.body)
            return None
        answer = resp.json() or {}
        self.figures.ack(command=name, user=self.persona.username, instance_id=answer.get("instance_id"),
                         row_version=answer.get("row_version"), status=answer.get("status"), **known)
        return answer

    def think(self, factor: float = 1.0) -> None:
        self.stop.wait(self.rng.uniform(0.5, 1.5) * self.args.think * factor)

    def run(self) -> None:
        self.stop.wait(self.rng.uniform(0, 2))  # do not all start in the same instant
        while not self.stop.is_set():
            try:
                self.step()
            except Exception as exc:  # a bug in the soak itself: say so, keep going
                print(f"[{self.name}] {type(exc).__name__}: {exc}", file=sys.stderr)
                self.stop.wait(1)
            self.think()
        self.client.close()

    def step(self) -> None:
        raise NotImplementedError

    def read_instance(self) -> None:
        if self.instances:
            iid = self.rng.choice(self.instances[-20:])
            self.api("GET", f"/instances/{iid}")


class Applicant(User):
    def step(self) -> None:
        unit = self.persona.unit
        roll = self.rng.random()
        if roll < self.args.apply_rate:
            mine = self.api("GET", "/instances?process_id=green_application&status=running&per_page=1")
            if mine is not None and mine.ok and (mine.json() or {}).get("total", 0) < self.args.backlog:
                from handlers import demo

                level = "province" if self.province and self.rng.random() < 0.25 else "city"
                answer = self.command("start", "POST", "/instances", {
                    "process_id": "green_application", "data": demo.application_data(unit, target_level=level)})
                if answer:
                    self.instances.append(answer["instance_id"])
            return
        if roll < 0.55:  # answer a return
            for tab in ("todo", "claimable"):
                resp = self.api("GET", f"/tasks?tab={tab}&per_page=10")
                items = [t for t in ((resp.json() or {}).get("items", []) if resp is not None and resp.ok else [])
                         if t.get("form") == "amend.schema.json"]
                if items:
                    task = items[0]
                    self.think(0.5)
                    self.command("complete", "POST", f"/tasks/{task['id']}/complete",
                                 {"data": FORM_DATA["amend.schema.json"]}, task_id=task["id"])
                    return
            return
        if roll < 0.85:  # how are my applications doing?
            resp = self.api("GET", "/instances?process_id=green_application&per_page=10")
            items = (resp.json() or {}).get("items", []) if resp is not None and resp.ok else []
            if items:
                iid = self.rng.choice(items)["id"]
                self.instances.append(iid)
                self.api("GET", f"/instances/{iid}")
            return
        if self.instances and self.rng.random() < 0.6:
            self.page(f"/portal/applications/{self.rng.choice(self.instances[-20:])}")
        else:
            self.page("/portal/")


class Official(User):
    def step(self) -> None:
        roll = self.rng.random()
        if roll < 0.12:  # reading
            if self.persona.pages and self.rng.random() < 0.6:
                choice = self.rng.random()
                if choice < 0.4 or not self.instances:
                    self.page("/inbox/")
                else:
                    self.page(f"/instances/{self.rng.choice(self.instances[-20:])}")
            else:
                self.api("GET", "/tasks?tab=done&per_page=10")
                self.read_instance()
            return
        resp = self.api("GET", "/tasks?tab=todo&per_page=20")
        mine = [t for t in ((resp.json() or {}).get("items", []) if resp is not None and resp.ok else [])
                if t.get("form") in FORM_DATA]
        if mine:
            task = mine[0]
        else:
            resp = self.api("GET", "/tasks?tab=claimable&per_page=20")
            pool = [t for t in ((resp.json() or {}).get("items", []) if resp is not None and resp.ok else [])
                    if t.get("form") in FORM_DATA]
            if not pool:
                return
            task = self.rng.choice(pool[:5])
            self.instances.append(task["instance_id"])
            if self.rng.random() < 0.7:  # 认领 first; otherwise complete straight from the pool
                if self.command("claim", "POST", f"/tasks/{task['id']}/claim", {}, task_id=task["id"]) is None:
                    return
                self.think(0.5)
        self.instances.append(task["instance_id"])
        look = self.rng.random()
        if look < 0.25:
            self.api("GET", f"/tasks/{task['id']}")
        elif look < 0.4 and self.persona.pages:
            self.page(f"/tasks/{task['id']}")
        data = FORM_DATA[task["form"]]
        if task["form"] == "review.schema.json" and task.get("role") == "county_official" \
                and self.rng.random() < self.args.return_rate:
            data = RETURN
        self.think(0.5)
        self.command("complete", "POST", f"/tasks/{task['id']}/complete", {"data": data}, task_id=task["id"])


class TimerSeeder(threading.Thread):
    """Starts ``one_timer`` instances whose timer falls due 2–40 s later (never after ``last_due``).

    In this process, through the engine, as a system actor: the API starts only processes a person
    starts with a form. The web processes' embedded workers and the standalone workers fire them.
    """

    def __init__(self, app, figures: Figures, stop: threading.Event, every: float, last_due: float, seed: int):
        super().__init__(name="timer-seeder", daemon=True)
        from engine.identity import system_actor

        self.engine = app.extensions["greenflow"]
        self.actor = system_actor("soak-seeder")
        self.figures, self.stop, self.every, self.last_due = figures, stop, every, last_due
        self.rng = random.Random(f"{seed}:timers")
        self.seeded: dict[int, dt.datetime] = {}
        self.failed: list[str] = []

    def run(self) -> None:
        while not self.stop.wait(self.every):
            due_in = self.rng.uniform(2, 40)
            if time.time() + due_in > self.last_due:
                due_in = self.last_due - time.time()
                if due_in < 2:
                    continue
            due = dt.datetime.now(UTC) + dt.timedelta(seconds=due_in)
            try:
                outcome = self.engine.start("one_timer", {"due": due.isoformat()}, actor=self.actor)
            except Exception as exc:  # the database is reachable or the soak cannot go on: note it
                self.failed.append(f"{type(exc).__name__}: {exc}")
                continue
            self.figures.ack(command="start", user=self.actor.username, instance_id=outcome.instance_id,
                             row_version=outcome.row_version, status=outcome.status)
            self.seeded[outcome.instance_id] = due


# --- personas ----------------------------------------------------------------------------------

def personas(users: int, rng: random.Random) -> tuple[list[Persona], bool]:
    """Who the users are: per unit its applicant and the officials its application meets, then the province."""
    from handlers import demo
    from handlers.divisions import city_of

    units = [demo.UNITS[i] for i in (0, 1, 2, 5, 3, 8)]  # U1 U2 U3 U6 U4 U9: six cities
    blocks: list[list[Persona]] = []
    for unit in units:
        city = city_of(unit.county)
        blocks.append([Persona("applicant", f"ent-{unit.key.lower()}", unit),
                       Persona("official", f"county-{unit.county}"), Persona("official", f"city-{city}")]
                      + [Persona("official", f"{short}-{city}") for short in ("eco", "emergency", "market", "tax")])
    experts = [username for username, *_ in demo.EXPERTS]  # the pool: a panel draws three of them (第十八条)
    province = [Persona("official", name) for name in ("province", *experts, "prov-eco", "prov-emergency",
                                                         "prov-market", "prov-tax")]
    order = blocks[0] + blocks[1] + (province if users >= 20 else []) + [p for b in blocks[2:] for p in b]
    if users < 20:
        order += province
    extras = []  # colleagues (claim races) and second applicants, round robin
    for unit in units:
        city = city_of(unit.county)
        extras += [Persona("official", f"county-{unit.county}-b"), Persona("official", f"city-{city}-b"),
                   Persona("applicant", f"ent-{unit.key.lower()}", unit)]
    extras.append(Persona("official", "province-b"))
    chosen = (order + extras * (1 + users // max(1, len(extras))))[:users]
    chosen = [Persona(p.kind, p.username, p.unit) for p in chosen]
    # About a third read HTML pages too (a logged-in session each; logins are rate-limited per client).
    for p in rng.sample(chosen, k=min(len(chosen), max(1, min(9, users // 3)))):
        p.pages = True
    has_province = any(p.username == "expert" for p in chosen) and any(p.username == "province" for p in chosen)
    return chosen, has_province


# --- the fleet -----------------------------------------------------------------------------------

def greenflow_command() -> list[str]:
    script = Path(sys.executable).with_name("greenflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "web.cli"]


class Fleet:
    def __init__(self, env: dict, run_dir: Path, ports: list[int], workers: int, threads: int):
        self.env, self.run_dir, self.ports, self.threads = env, run_dir, ports, threads
        self.cmd = greenflow_command()
        self.web: list[subprocess.Popen | None] = [None] * len(ports)
        self.workers: list[subprocess.Popen | None] = [None] * workers
        self.generation = collections.Counter()
        self.lock = threading.Lock()

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        with open(self.run_dir / log, "ab") as out:
            return subprocess.Popen(self.cmd + args, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)

    def start_web(self, i: int) -> None:
        self.generation[("web", i)] += 1
        self.web[i] = self._spawn(["serve", "--host", HOST, "--port", str(self.ports[i]), "--threads",
                                   str(self.threads)], f"web{i}.log")

    def start_worker(self, j: int) -> None:
        self.generation[("worker", j)] += 1
        self.workers[j] = self._spawn(["worker", "--name", f"soak-worker{j}.{self.generation[('worker', j)]}"],
                                      f"worker{j}.log")

    @staticmethod
    def _kill(proc: subprocess.Popen | None) -> None:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def kill_web(self, i: int) -> None:
        self._kill(self.web[i])

    def kill_worker(self, j: int) -> None:
        self._kill(self.workers[j])

    def ready(self, i: int, timeout: float = 120.0) -> float | None:
        """Seconds until web process ``i`` answers, or None if it did not within ``timeout``."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            proc = self.web[i]
            if proc is not None and proc.poll() is not None:
                return None
            try:
                conn = http.client.HTTPConnection(HOST, self.ports[i], timeout=5)
                conn.request("GET", "/api/v1/openapi.json")
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.monotonic() - started
                conn.close()
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        return None

    def dead(self) -> list[str]:
        names = [f"web{i} (exit {p.returncode})" for i, p in enumerate(self.web) if p is not None and p.poll() is not None]
        return names + [f"worker{j} (exit {p.returncode})" for j, p in enumerate(self.workers)
                        if p is not None and p.poll() is not None]

    def stop_all(self) -> None:
        procs = [p for p in self.web + self.workers if p is not None and p.poll() is None]
        for p in procs:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()


# --- setup -----------------------------------------------------------------------------------

def check_local(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit(f"--db must be a PostgreSQL URL, not {parsed.drivername}")
    if (parsed.host or "127.0.0.1") not in LOCAL_HOSTS:
        raise SystemExit(f"the soak talks to 127.0.0.1 only; --db points at {parsed.host}")


def fresh_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def flush_rate_limits(redis_db: int) -> None:
    """Empty the soak's own Redis database (login limits of an earlier run would refuse its logins)."""
    import redis

    redis.Redis(host=HOST, port=6379, db=redis_db, socket_timeout=5).flushdb()


def run_cli(env: dict, *args: str) -> str:
    done = subprocess.run(greenflow_command() + list(args), env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"greenflow {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def setup(url: str, env: dict, people: list[Persona], password: str):
    """init + deploy (CLI), demo accounts and data, one API token per user; returns the app (for the checks)."""
    print(run_cli(env, "init"))
    # The timer fixture first: the newest version is the platform's bundle, as in production.
    print(run_cli(env, "deploy", str(ROOT / "tests" / "fixtures" / "timers"), "--by", "soak"))
    print(run_cli(env, "deploy"))
    from handlers import demo
    from web.api import auth
    from web.app import create_app

    app = create_app({"database_url": url, "ratelimit_storage": "memory://",
                      "secret_key": env["GREENFLOW_SECRET_KEY"], "upload_dir": env["GREENFLOW_UPLOAD_DIR"]})
    with app.app_context():
        eng = app.extensions["greenflow"]
        t = time.perf_counter()
        demo.seed(eng, password=password)
        print(f"demo accounts and sample data in {time.perf_counter() - t:.1f} s")
        for n, person in enumerate(people):
            _, person.token = auth.issue_token(eng, person.username, name=f"soak user {n}")
        eng.db.dispose()
    return app


# --- the checks at the end -------------------------------------------------------------------

def verify(app, figures: Figures, seeded: dict[int, dt.datetime], run_start: dt.datetime) -> dict:
    from sqlalchemy import func, select

    from engine.models import Event, HumanTask, Incident, ProcessInstance, Timer

    eng = app.extensions["greenflow"]
    acks = figures.acks
    out: dict = {}
    ids = sorted({a["instance_id"] for a in acks if a.get("instance_id")})
    with eng.db.session() as s:
        rows = {r.id: r for r in s.execute(select(ProcessInstance.id, ProcessInstance.row_version,
                                                  ProcessInstance.started_by, ProcessInstance.status))}
        seen: set[tuple] = set()
        for chunk in range(0, len(ids), 1000):
            part = ids[chunk:chunk + 1000]
            for iid, type_, actor, payload in s.execute(
                    select(Event.instance_id, Event.type, Event.actor, Event.payload)
                    .where(Event.instance_id.in_(part),
                           Event.type.in_(("instance_started", "task_claimed", "task_completed")))):
                seen.add((iid, type_, actor, json.loads(payload).get("task_id")))
        task_rows = {t.id: t for t in s.execute(select(HumanTask.id, HumanTask.status, HumanTask.completed_by,
                                                       HumanTask.instance_id))}
        lost: list[dict] = []
        for a in acks:
            iid, user, cmd = a.get("instance_id"), a["user"], a["command"]
            why = None
            row = rows.get(iid)
            if row is None:
                why = "instance missing"
            elif a.get("row_version") is not None and row.row_version < a["row_version"]:
                why = f"row version {row.row_version} < acknowledged {a['row_version']}"
            elif cmd == "start" and (iid, "instance_started", user, None) not in seen:
                why = "no instance_started event by the user"
            elif cmd == "claim" and (iid, "task_claimed", user, a["task_id"]) not in seen:
                why = "no task_claimed event"
            elif cmd == "complete":
                task = task_rows.get(a["task_id"])
                if (iid, "task_completed", user, a["task_id"]) not in seen:
                    why = "no task_completed event"
                elif task is None or task.status != "completed" or task.completed_by != user:
                    why = f"task row is {task.status if task else 'missing'} by {task.completed_by if task else '-'}"
            if why:
                lost.append({**a, "why": why})
        versions = collections.Counter((a["instance_id"], a["row_version"]) for a in acks
                                       if a["command"] in ("start", "complete"))
        reused = [{"instance_id": k[0], "row_version": k[1], "acks": n} for k, n in versions.items() if n > 1]
        out["acks"] = dict(collections.Counter(a["command"] for a in acks))
        out["lost_acks"] = len(lost) + len(reused)
        out["lost_samples"] = (lost + reused)[:10]

        # timers: more than one timer_fired per timer anywhere; the seeded ones fired, once, how late
        doubles = s.execute(select(Event.instance_id, Event.task_guid, func.count())
                            .where(Event.type == "timer_fired").group_by(Event.instance_id, Event.task_guid)
                            .having(func.count() > 1)).all()
        out["double_fired_timers"] = len(doubles)
        out["double_fired_samples"] = [{"instance_id": i, "task_guid": g, "fired": n} for i, g, n in doubles[:10]]
        fired: dict[int, list] = collections.defaultdict(list)
        completions: collections.Counter = collections.Counter()  # the timer's effect: the instance completes
        for chunk_ids in _chunks(sorted(seeded), 1000):
            for iid, type_, at, actor in s.execute(
                    select(Event.instance_id, Event.type, Event.at, Event.actor)
                    .where(Event.type.in_(("timer_fired", "instance_completed")), Event.instance_id.in_(chunk_ids))):
                if type_ == "timer_fired":
                    fired[iid].append((at, actor))
                else:
                    completions[iid] += 1
        twice_completed = [iid for iid, n in completions.items() if n > 1]
        out["double_fired_timers"] += len(twice_completed)
        out["double_fired_samples"] += [{"instance_id": i, "instance_completed_events": completions[i]}
                                        for i in twice_completed[:10]]
        pending = {iid for (iid,) in s.execute(select(Timer.instance_id).where(Timer.instance_id.in_(list(seeded))))} \
            if seeded else set()
        lags = [(fired[i][0][0] - due).total_seconds() for i, due in seeded.items() if fired.get(i)]
        by = collections.Counter(re.sub(r"\.\d+$", "", actor) for events in fired.values() for _, actor in events)
        statuses = collections.Counter(rows[i].status if i in rows else "missing" for i in seeded)
        out["timers"] = {"seeded": len(seeded), "fired": sum(1 for i in seeded if fired.get(i)),
                         "not_fired": sorted(i for i in seeded if not fired.get(i))[:20],
                         "still_pending": len(pending), "fired_by": dict(by), "instance_status": dict(statuses),
                         "completed_once": sum(1 for i in seeded if completions[i] == 1),
                         "lag_p50_s": percentile(lags, 0.5), "lag_p99_s": percentile(lags, 0.99),
                         "lag_max_s": max(lags) if lags else None}

        incidents = s.execute(select(Incident.id, Incident.instance_id, Incident.status, Incident.error,
                                     Incident.command).where(Incident.created_at >= run_start)
                              .order_by(Incident.id)).all()
        out["incidents"] = {"during_run": len(incidents),
                            "open": sum(1 for i in incidents if i.status == "open"),
                            "samples": [{"id": i.id, "instance_id": i.instance_id, "status": i.status,
                                         "command": (i.command or {}).get("type"), "error": i.error[:300]}
                                        for i in incidents[:5]]}
        all_ids = sorted(rows)
    t = time.perf_counter()
    broken = []
    for iid in all_ids:
        check = eng.verify_history(iid)
        if not check.ok:
            broken.append({"instance_id": iid, "seq": check.first_bad_seq, "reason": check.reason})
    out["chains"] = {"verified": len(all_ids), "broken": len(broken), "samples": broken[:10],
                     "seconds": round(time.perf_counter() - t, 1)}
    eng.db.dispose()
    return out


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def scan_logs(run_dir: Path) -> dict:
    found = {}
    for path in sorted(run_dir.glob("*.log")):
        text = path.read_text("utf-8", "replace")
        tracebacks = text.count("Traceback (most recent call last)")
        if tracebacks:
            last = text.rfind("Traceback (most recent call last)")
            found[path.name] = {"tracebacks": tracebacks, "last": text[last:last + 1500]}
    return found


# --- main ------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, help=f"PostgreSQL URL (default: a fresh database {SOAK_DB})")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="where to create the fresh database")
    parser.add_argument("--web", type=int, default=3, help="greenflow serve processes")
    parser.add_argument("--workers", type=int, default=2, help="greenflow worker processes")
    parser.add_argument("--users", type=int, default=50, help="simulated officials and applicants")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds between kill -9 rounds (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--base-port", type=int, default=5300)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per web process")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a user waits between actions")
    parser.add_argument("--apply-rate", type=float, default=0.2, help="share of an applicant's actions that apply")
    parser.add_argument("--backlog", type=int, default=6, help="an applicant applies only with fewer running")
    parser.add_argument("--return-rate", type=float, default=0.1, help="share of county reviews returned")
    parser.add_argument("--timer-every", type=float, default=1.0, help="seconds between seeded timers")
    parser.add_argument("--redis-db", type=int, default=11, help="Redis database for the rate limits (flushed)")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if args.web < 1 or args.workers < 0 or args.users < 1:
        parser.error("need at least one web process and one user")

    rng = random.Random(args.seed)
    run_dir = Path(tempfile.mkdtemp(prefix="greenflow-soak-"))
    (run_dir / "uploads").mkdir()
    if args.db:
        check_local(args.db)
        url = args.db
    else:
        check_local(args.pg_admin)
        url = fresh_database(args.pg_admin, SOAK_DB)
    flush_rate_limits(args.redis_db)
    password = secrets.token_urlsafe(12)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GREENFLOW_")},
           "GREENFLOW_DATABASE_URL": url, "GREENFLOW_RATELIMIT_STORAGE": f"redis://{HOST}:6379/{args.redis_db}",
           "GREENFLOW_SECRET_KEY": secrets.token_hex(32), "GREENFLOW_UPLOAD_DIR": str(run_dir / "uploads"),
           "PYTHONUNBUFFERED": "1"}
    people, province = personas(args.users, rng)
    print(f"soak: {args.web} web + {args.workers} workers on {url.rsplit('@', 1)[-1]}, {args.users} users "
          f"({sum(p.kind == 'applicant' for p in people)} applicants, {sum(p.pages for p in people)} also on pages), "
          f"{args.minutes:g} min, kill -9 every {args.kill_every:g} s; logs in {run_dir}")
    app = setup(url, env, people, password)

    ports = [args.base_port + i for i in range(args.web)]
    fleet = Fleet(env, run_dir, ports, args.workers, args.threads)
    stop = threading.Event()
    figures = Figures()
    kills: list[dict] = []
    restarts: list[float] = []
    loads: list[float] = []  # the machine's 1-minute load average every 30 s (the cores are shared)
    result: dict = {}

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    interrupted = False
    threads: list[threading.Thread] = []
    seeder = None
    try:
        for i in range(args.web):
            fleet.start_web(i)
        for j in range(args.workers):
            fleet.start_worker(j)
        for i in range(args.web):
            if fleet.ready(i) is None:
                raise SystemExit(f"web{i} did not start; see {run_dir / f'web{i}.log'}")
        run_start = dt.datetime.now(UTC)
        started = time.monotonic()
        duration = args.minutes * 60
        end = started + duration
        seeder = TimerSeeder(app, figures, stop, args.timer_every, time.time() + duration - 10, args.seed)
        kinds = {"applicant": Applicant, "official": Official}
        threads = [kinds[p.kind](n, p, ports, figures, stop, args, password, province) for n, p in enumerate(people)]
        for t in threads + [seeder]:
            t.start()
        next_kill, round_no = (started + args.kill_every if args.kill_every > 0 else float("inf")), 0
        next_report = started + 30
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_kill:
                i, j = round_no % args.web, (round_no % args.workers if args.workers else None)
                at = time.monotonic() - started
                fleet.kill_web(i)
                if j is not None:
                    fleet.kill_worker(j)
                fleet.start_web(i)
                if j is not None:
                    fleet.start_worker(j)
                kills.append({"at_s": round(at, 1), "at": dt.datetime.now(UTC).isoformat(timespec="seconds"),
                              "web": i, "worker": j})

                def wait_ready(i=i):
                    took = fleet.ready(i)
                    if took is not None:
                        restarts.append(took)

                threading.Thread(target=wait_ready, daemon=True).start()
                round_no += 1
                next_kill += args.kill_every
            if now >= next_report:
                loads.append(os.getloadavg()[0])
                with figures.lock:
                    done = sum(figures.statuses.values())
                    print(f"  {now - started:5.0f} s: {done} responses, {len(figures.acks)} acknowledged commands, "
                          f"{figures.server_error_count} 5xx, {sum(figures.conn_errors.values())} connection errors, "
                          f"{len(kills)} kill rounds", flush=True)
                next_report += 30
            time.sleep(max(0.05, min(next_kill, end, next_report) - time.monotonic()))
        elapsed = time.monotonic() - started
        stop.set()
        for t in threads + [seeder]:
            t.join(timeout=REQUEST_TIMEOUT * 2 + 5)
        # Let the fleet (no more kills) fire the timers already due, then stop it.
        grace_end = time.monotonic() + 60
        while time.monotonic() < grace_end and _unfired_due(app, seeder.seeded):
            time.sleep(1)
        dead = fleet.dead()
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        print("interrupted: stopping the fleet", file=sys.stderr)
    finally:
        stop.set()
        fleet.stop_all()
    if interrupted:
        return 130

    checks = verify(app, figures, seeder.seeded, run_start)
    checks["timers"]["seed_failures"] = len(seeder.failed)
    checks["timers"]["seed_failure_samples"] = seeder.failed[:5]
    logs = scan_logs(run_dir)
    result = summarise(args, figures, elapsed, kills, restarts, checks, logs, dead, run_dir)
    result["load_average_1min"] = {"mean": round(sum(loads) / len(loads), 2) if loads else None,
                                   "max": round(max(loads), 2) if loads else None, "cpus": os.cpu_count()}
    print_table(result)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        print(f"figures written to {args.json_path}")
    failed = (result["5xx"] or result["lost_acknowledged_commands"] or result["double_fired_timers"]
              or result["chains_broken"])
    return 1 if failed else 0


def _unfired_due(app, seeded: dict[int, dt.datetime]) -> bool:
    """True while a seeded timer that is due has not fired yet."""
    from sqlalchemy import func, select

    from engine.models import Timer

    if not seeded:
        return False
    eng = app.extensions["greenflow"]
    with eng.db.session() as s:
        left = s.scalar(select(func.count()).select_from(Timer).where(
            Timer.instance_id.in_(list(seeded)), Timer.due_at < dt.datetime.now(UTC)))
    return bool(left)


def summarise(args, figures: Figures, elapsed: float, kills, restarts, checks, logs, dead, run_dir) -> dict:
    every = [x for values in figures.latency.values() for x in values]
    responses = sum(figures.statuses.values())
    classes = collections.Counter(f"{s // 100}xx" for s in figures.statuses.elements())

    def ms(values, q):
        v = percentile(values, q)
        return round(v * 1000, 1) if v is not None else None

    return {
        "config": {"web": args.web, "workers": args.workers, "users": args.users, "minutes": args.minutes,
                   "kill_every_s": args.kill_every, "seed": args.seed, "think_s": args.think},
        "duration_s": round(elapsed, 1),
        "responses": responses,
        "requests_per_s": round(responses / elapsed, 1) if elapsed else None,
        "latency_ms": {"p50": ms(every, 0.5), "p95": ms(every, 0.95), "p99": ms(every, 0.99),
                       "max": round(max(every) * 1000, 1) if every else None},
        "latency_ms_by_kind": {k: {"n": len(v), "p50": ms(v, 0.5), "p95": ms(v, 0.95), "p99": ms(v, 0.99)}
                               for k, v in sorted(figures.latency.items())},
        "status_classes": dict(sorted(classes.items())),
        "statuses": {str(k): v for k, v in sorted(figures.statuses.items())},
        "5xx": figures.server_error_count,
        "5xx_samples": figures.server_errors[:5],
        "connection_errors": dict(figures.conn_errors),
        "connection_error_samples": figures.conn_error_samples,
        "requests_retried_on_another_process": figures.retried_requests,
        "requests_given_up": figures.gave_up,
        "commands_acknowledged": checks["acks"],
        "commands_refused": {f"{c} {s}": n for (c, s), n in sorted(figures.rejected.items())},
        "commands_refused_samples": {f"{c} {s}": b for (c, s), b in sorted(figures.rejected_samples.items())},
        "lost_acknowledged_commands": checks["lost_acks"],
        "lost_samples": checks["lost_samples"],
        "double_fired_timers": checks["double_fired_timers"],
        "double_fired_samples": checks["double_fired_samples"],
        "timers": checks["timers"],
        "chains_verified": checks["chains"]["verified"],
        "chains_broken": checks["chains"]["broken"],
        "chain_samples": checks["chains"]["samples"],
        "incidents": checks["incidents"],
        "kill_rounds": len(kills),
        "kills": kills,
        "web_restart_s": {"p50": percentile(restarts, 0.5), "max": max(restarts) if restarts else None,
                          "n": len(restarts)},
        "processes_dead_at_end": dead,
        "log_tracebacks": {name: v["tracebacks"] for name, v in logs.items()},
        "log_last_traceback": {name: v["last"] for name, v in logs.items()},
        "run_dir": str(run_dir),
    }


def print_table(r: dict) -> None:
    lat = r["latency_ms"]
    t = r["timers"]
    inc = r["incidents"]
    rows = [
        ("duration", f"{r['duration_s']} s; {r['config']['web']} web + {r['config']['workers']} workers, "
                     f"{r['config']['users']} users, kill -9 every {r['config']['kill_every_s']:g} s"),
        ("requests/s", f"{r['requests_per_s']} ({r['responses']} responses)"),
        ("latency p50/p95/p99/max", f"{lat['p50']} / {lat['p95']} / {lat['p99']} / {lat['max']} ms"),
        *[(f"  {k}", f"n={v['n']}: p50 {v['p50']} / p95 {v['p95']} / p99 {v['p99']} ms")
          for k, v in r["latency_ms_by_kind"].items()],
        ("responses by class", ", ".join(f"{k} {v}" for k, v in r["status_classes"].items())),
        ("  by status", ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())),
        ("5xx (target 0)", str(r["5xx"])),
        ("connection errors", ", ".join(f"{k} {v}" for k, v in r["connection_errors"].items()) or "0"),
        ("  retried elsewhere / gave up", f"{r['requests_retried_on_another_process']} / {r['requests_given_up']}"),
        ("acknowledged commands", ", ".join(f"{k} {v}" for k, v in r["commands_acknowledged"].items())),
        ("refused commands", ", ".join(f"{k}: {v}" for k, v in r["commands_refused"].items()) or "0"),
        ("lost acknowledged (target 0)", str(r["lost_acknowledged_commands"])),
        ("double-fired timers (target 0)", str(r["double_fired_timers"])),
        ("seeded timers", f"{t['seeded']} seeded ({t['seed_failures']} failed), {t['fired']} fired, "
                          f"{t['completed_once']} completed once, {t['still_pending']} still pending; "
                          f"lag p50 {_s(t['lag_p50_s'])} p99 {_s(t['lag_p99_s'])} max {_s(t['lag_max_s'])}"),
        ("  fired by", ", ".join(f"{k} {v}" for k, v in sorted(t["fired_by"].items()))),
        ("chains failing (target 0)", f"{r['chains_broken']} of {r['chains_verified']} instances"),
        ("incidents during the run", f"{inc['during_run']} ({inc['open']} open)"),
        ("kill rounds", f"{r['kill_rounds']}; web back in p50 {_s(r['web_restart_s']['p50'])}, "
                        f"max {_s(r['web_restart_s']['max'])}"),
        ("tracebacks in logs", ", ".join(f"{k} {v}" for k, v in r["log_tracebacks"].items()) or "0"),
        ("processes dead at the end", ", ".join(r["processes_dead_at_end"]) or "none"),
    ]
    load = r.get("load_average_1min") or {}
    rows.append(("machine load (1-min avg)", f"mean {load.get('mean')}, max {load.get('max')} on {load.get('cpus')} "
                                             f"CPUs (shared)"))
    width = max(len(k) for k, _ in rows)
    print("\n" + "\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    for sample in r["5xx_samples"]:
        print(f"5xx: {sample['status']} {sample['method']} {sample['path']}: {sample['body'][:300]!r}")
    for sample in r["lost_samples"]:
        print(f"lost: {sample}")
    for sample in r["double_fired_samples"] + r["chain_samples"]:
        print(f"check failed: {sample}")
    for sample in inc["samples"]:
        print(f"incident: {sample}")
    for name, text in r["log_last_traceback"].items():
        print(f"--- last traceback in {name}:\n{text}")
    print(f"logs: {r['run_dir']}")


def _s(value) -> str:
    return "-" if value is None else f"{value:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
