"""Synthetic ALS traffic for the demo: history files and a live writer thread (no Textual).

The traffic is shaped for conf/demo.toml: a steady background per log family plus a
scripted 60 s cycle of bursts (memcache, PHP, request failures, mongo), so that threshold
and abnormal alarms fire within the first minute; syslog-ng statistics every 10 s per
collector (every third one reporting dropped lines); rare kernel messages and very slow
responses (instant events); and a trickle of malformed lines so rejection counts move.
Everything but the timestamps is deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from alser_tui.resources import data_file

__all__ = ["FAMILIES", "DemoWriter", "Family", "prepare_demo", "write_history"]


@dataclass(frozen=True, slots=True)
class Family:
    """One family of log files (one guard of demo.toml)."""

    name: str
    files: int  # app servers / collectors writing it: logs/<name>.1.log ...
    rate: float  # background lines per second over all files
    ms: bool = False  # TS in milliseconds (the Flash client and payment callbacks)


FAMILIES: tuple[Family, ...] = (
    Family("phperror", 3, 40.0),
    Family("mongoerror", 2, 3.0),
    Family("error", 2, 20.0),
    Family("session", 3, 50.0),
    Family("newaccount", 2, 5.0),
    Family("levelup", 2, 15.0),
    Family("mission", 2, 20.0),
    Family("rcfail", 2, 8.0),
    Family("flashclick", 2, 30.0, ms=True),
    Family("payment", 2, 4.0, ms=True),
    Family("slowresponse", 3, 6.0),
    Family("memcachefail", 2, 2.0),
    Family("memcacheslow", 2, 10.0),
    Family("mongoslow", 2, 6.0),
    Family("kernel", 2, 0.06),
)
_BY_NAME = {f.name: f for f in FAMILIES}


@dataclass(frozen=True, slots=True)
class _Burst:
    family: str
    start: float  # seconds into each 60 s cycle
    length: float
    rate: float  # extra lines per second, all on one group


# Bursts last 12 s, so each covers at least one whole 10 s window. Each one creeps in
# during the 10 s before it (a tenth of its rate), as failures do: the group then already
# has an amount in the previous window, which the abnormal-change check compares with.
_BURSTS: tuple[_Burst, ...] = (
    _Burst("phperror", 12, 12, 10.0),
    _Burst("memcachefail", 20, 12, 4.0),
    _Burst("rcfail", 25, 12, 6.0),
    _Burst("mongoerror", 38, 12, 5.0),
    _Burst("error", 38, 12, 6.0),
    _Burst("mongoslow", 40, 10, 1.2),
)
_LEAD = 10.0
_LEAD_SHARE = 0.1
_CYCLE = 60
_STATS_EVERY = 10
_GARBAGE_JSON = 0.004  # share of JSON lines cut short
_STACK_TRACE = 0.03  # share of PHP lines that are "PHP Stack trace:" continuations
_NO_ENVELOPE = 0.0005  # lines without AREA,TS (syslog marks)

AREAS = ("us", "de", "fr", "br", "th", "tr", "vn", "id")
_AREA_CUM = (30, 44, 54, 70, 79, 87, 94, 100)
# Bursts hit busy areas so the burst group already has a baseline (abnormal needs one).
_BURST_AREAS = ("us", "de", "br")
CURRENCY = {
    "us": "USD",
    "de": "EUR",
    "fr": "EUR",
    "br": "BRL",
    "th": "THB",
    "tr": "TRY",
    "vn": "VND",
    "id": "IDR",
}
# Local price points of the same five gem packs.
_PRICES = {
    "USD": (1.99, 4.99, 9.99, 19.99, 49.99),
    "EUR": (1.49, 3.99, 7.99, 15.99, 39.99),
    "BRL": (4.9, 9.9, 19.9, 39.9, 99.9),
    "THB": (59, 149, 299, 599, 1490),
    "TRY": (3.9, 9.9, 19.9, 39.9, 99.9),
    "VND": (39000, 99000, 199000, 399000, 999000),
    "IDR": (19000, 49000, 99000, 199000, 499000),
}
_GEMS = (20, 60, 130, 280, 750)

APP = "/mnt/htdocs/farm/v2"

# (level, message, file under APP, line, weight). "{n}"/"{m}" are filled with numbers, which
# the PhpError parser's digit normaliser folds back into one group.
_PHP: tuple[tuple[str, str, str, int, int], ...] = (
    ("Warning", "Invalid argument supplied for foreach()", "app/models/UserModel.php", 212, 10),
    (
        "Warning",
        "array_merge(): Argument #{d} is not an array",
        "app/services/GiftService.php",
        87,
        6,
    ),
    ("Warning", "Division by zero", "app/services/RankService.php", 144, 3),
    (
        "Warning",
        "Memcache::get(): Server 10.0.3.{n} (tcp 11211, udp 0) failed with: Connection refused (111)",
        "lib/cache/MemcacheStore.php",
        61,
        4,
    ),
    (
        "Warning",
        "file_get_contents(https://graph.facebook.com/{uid}/friends?fields=id,name): failed to open stream: HTTP request failed! HTTP/1.1 400 Bad Request",
        "lib/social/FacebookClient.php",
        233,
        5,
    ),
    ("Warning", "mysql_connect(): Too many connections", "lib/db/Mysql.php", 40, 1),
    (
        "Warning",
        "htmlspecialchars(): Invalid multibyte sequence in argument",
        "app/views/helpers/Text.php",
        18,
        3,
    ),
    (
        "Warning",
        "Missing argument 2 for FarmController::harvestAction()",
        "app/controllers/FarmController.php",
        301,
        2,
    ),
    (
        "Warning",
        "MongoCollection::update() expects parameter 1 to be array, null given",
        "lib/db/MongoModel.php",
        155,
        3,
    ),
    ("Notice", "Undefined index: gift_id", "app/controllers/GiftController.php", 58, 9),
    ("Notice", "Undefined index: fb_source", "app/controllers/IndexController.php", 22, 6),
    ("Notice", "Undefined offset: {d}", "app/services/QuestService.php", 412, 8),
    ("Notice", "Undefined variable: friendList", "app/controllers/FriendController.php", 96, 5),
    ("Notice", "Trying to get property of non-object", "app/models/ItemModel.php", 73, 8),
    ("Notice", "Uninitialized string offset: {d}", "lib/util/Str.php", 12, 2),
    (
        "Notice",
        "unserialize(): Error at offset {n} of {m} bytes",
        "lib/cache/MemcacheStore.php",
        88,
        4,
    ),
    (
        "Fatal error",
        "Allowed memory size of 268435456 bytes exhausted (tried to allocate {n} bytes)",
        "lib/db/MongoModel.php",
        210,
        2,
    ),
    (
        "Fatal error",
        "Maximum execution time of 30 seconds exceeded",
        "lib/social/FacebookClient.php",
        240,
        2,
    ),
    (
        "Fatal error",
        "Call to a member function getLevel() on a non-object",
        "app/services/LevelService.php",
        64,
        3,
    ),
    (
        "Fatal error",
        "Call to undefined method UserModel::getVipLevel()",
        "app/controllers/ShopController.php",
        133,
        1,
    ),
    (
        "Parse error",
        "syntax error, unexpected T_STRING, expecting ')'",
        "app/config/events.php",
        17,
        1,
    ),
    ("Deprecated", "Function split() is deprecated", "lib/vendor/legacy/Mailer.php", 120, 3),
    (
        "Strict Standards",
        "Non-static method Util::now() should not be called statically",
        "lib/util/Util.php",
        9,
        2,
    ),
)
_PHP_CUM = tuple(sum(t[4] for t in _PHP[: i + 1]) for i in range(len(_PHP)))
# Burst candidates: frequent, not filtered out by the parser's ignores.
_PHP_BURSTABLE = (0, 1, 9, 11, 13, 16, 18)

# (class, message, file, line). {uid} {n} {m} {hex} are filled per line.
_ERRORS: tuple[tuple[str, str, str, int], ...] = (
    (
        "InsufficientCoinsException",
        "User {uid} needs {n} coins, has {m}",
        "app/services/ShopService.php",
        88,
    ),
    (
        "ItemNotFoundException",
        "Item {n} not found in inventory of user {uid}",
        "app/models/InventoryModel.php",
        140,
    ),
    (
        "FriendLimitException",
        "User {uid} reached the friend limit of {m}",
        "app/services/FriendService.php",
        62,
    ),
    ("InvalidRequestException", "Missing parameter: mission_id", "lib/core/Request.php", 44),
    (
        "GiftExpiredException",
        "Gift {n} expired {m} seconds ago",
        "app/services/GiftService.php",
        120,
    ),
    ("SessionException", "Session expired", "lib/core/Session.php", 71),
    ("BannedUserException", "User {uid} is banned", "app/controllers/BaseController.php", 35),
    ("ConfigException", "Unknown event config: harvest_festival_{n}", "lib/core/Config.php", 33),
    (
        "FacebookApiException",
        "(#4) Application request limit reached",
        "lib/social/FacebookClient.php",
        260,
    ),
    ("LockException", "Could not acquire lock farm_{uid} after {m} ms", "lib/cache/Lock.php", 52),
    (
        "MongoException",
        "zero-length keys are not allowed, did you use $ with double quotes?",
        "lib/db/MongoModel.php",
        201,
    ),
)

_MONGO_ERRORS: tuple[tuple[str, str], ...] = (
    (
        "MongoCursorException",
        "E11000 duplicate key error index: farm_{area}.user_items.$_id_  dup key: {{ : {n} }}",
    ),
    ("MongoCursorException", "not master and slaveOk=false"),
    ("MongoCursorException", "cursor {n} not found"),
    ("MongoCursorTimeoutException", "cursor timed out (timeout: 30000, time left: 0:0, status: 0)"),
    ("MongoConnectionException", "Failed to connect to: {server}: Connection timed out"),
    ("MongoConnectionException", "couldn't determine master"),
    ("MongoCursorException", "Cannot apply $inc modifier to non-number"),
    ("ValidationException", "document too large: {n} bytes"),  # not a driver error: skipped
)
_MONGO_BURSTABLE = (0, 1, 3, 4)

_RC_FAILS: tuple[tuple[str, int, str], ...] = (
    (
        "/api/?class=Farm&method=harvest&uid={uid}&plot={d}",
        -3,
        "token mismatch, pre: {hex}; current: {hex2}",
    ),
    ("/api/?class=Shop&method=buy&uid={uid}&item={n}", -2, "not enough coins"),
    ("/api/?class=Gift&method=accept&uid={uid}&gift={n}", -5, "gift {n} already accepted"),
    ("/api/?class=Friend&method=visit&uid={uid}&fid={uid2}", -1, "friend {uid2} not found"),
    ("/api/?class=User&method=login&uid={uid}&ts={n}", -9, "signature check failed"),
    ("/api/?class=Mission&method=complete&uid={uid}&mid={d}", -4, "mission {d} not accepted"),
    ("/api/health?lb={d}", -8, "backend timeout"),  # load balancer probes: ignored
)
_RC_CUM = (30, 55, 67, 77, 85, 95, 100)

_SLOW_URIS = (
    "/api/?class=Friend&method=list&uid={uid}",
    "/api/?class=Farm&method=load&uid={uid}",
    "/api/?class=Rank&method=top&area={area}&page={d}",
    "/api/?class=Gift&method=inbox&uid={uid}&since={n}",
    "/index.php?fb_source=bookmark&ref=bookmarks&count={d}",
    "/api/cron/daily_reward",
    "/admin/stats?day={n}",
)

_MEMCACHE_ERRORS = (
    ("SERVER HAS FAILED AND IS DISABLED UNTIL TIMED RETRY", 2),
    ("CONNECTION FAILURE", 2),
    ("SERVER ERROR", 1),
    ("read timeout after {m} ms", 2),
    ("NOT FOUND", 4),  # misses: ignored by the parser
    ("NOT STORED", 1),  # lost add() races: ignored
)
_MEMCACHE_CUM = tuple(
    sum(w for _, w in _MEMCACHE_ERRORS[: i + 1]) for i in range(len(_MEMCACHE_ERRORS))
)
_CACHE_OPS = ("get", "get", "get", "set", "add", "delete", "increment")
_COLLECTIONS = ("user_items", "user_farm", "friends", "gifts", "missions", "rank_daily")
_MONGO_OPS = ("find", "find", "find", "update", "count", "findAndModify", "aggregate")

_KERNEL = (
    "kernel: Out of memory: Kill process {pid} (php-fpm) score {d} or sacrifice child",
    "kernel: php-fpm[{pid}]: segfault at 0 ip 00000000006c2d1e sp 00007fff5d3c1e80 error 4 in php-fpm[400000+6b5000]",
    "kernel: possible SYN flooding on port 80. Sending cookies.",
    "kernel: nf_conntrack: table full, dropping packet.",
    "kernel: TCP: time wait bucket table overflow",
    "kernel: INFO: task mongod:{pid} blocked for more than 120 seconds.",
    "kernel: sd 0:0:0:0: [sda] Unhandled error code, Result: hostbyte=DID_OK driverbyte=DRIVER_TIMEOUT",
    "kernel: e1000e: eth1 NIC Link is Down",
)
_COLLECTORS = ("als-relay-01", "als-relay-02")
_STAT_PROGRAMS = ("phperror", "session", "payment", "error", "flashclick", "mission")

_MISSIONS = tuple(f"m_{1200 + i}" for i in range(24))
_SCENES = {
    "shop": ("buy_gems_{g}", "buy_coins_{g}", "open_bundle", "close"),
    "farm": ("harvest_all", "plant", "expand_land", "debug_fps"),
    "neighbors": ("visit_friend", "send_gift", "invite_{d}"),
    "quests": ("open_quest", "claim_reward", "skip_{d}"),
}
_SCENE_NAMES = tuple(_SCENES)


def _pick_area(rng: random.Random) -> str:
    return rng.choices(AREAS, cum_weights=_AREA_CUM)[0]


class _Traffic:
    """Generates the lines of one simulated stream; time advances by `advance`."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.t = 0.0  # simulated seconds since the stream started
        self._acc = dict.fromkeys((f.name for f in FAMILIES), 0.0)
        self._burst_acc = [0.0] * len(_BURSTS)
        self._targets: dict[tuple[str, int], dict[str, Any]] = {}
        self._stats_count = 0
        self._now = 0.0  # the timestamp of the lines being generated
        self._php_time: tuple[int, str] = (-1, "")
        self._gen: dict[str, Callable[[str, dict[str, Any] | None], str]] = {
            "phperror": self._phperror,
            "mongoerror": self._mongoerror,
            "error": self._error,
            "session": self._session,
            "newaccount": self._newaccount,
            "levelup": self._levelup,
            "mission": self._mission,
            "rcfail": self._rcfail,
            "flashclick": self._flashclick,
            "payment": self._payment,
            "slowresponse": self._slowresponse,
            "memcachefail": self._memcachefail,
            "memcacheslow": self._memcacheslow,
            "mongoslow": self._mongoslow,
            "kernel": self._kernel,
        }

    # ------------------------------------------------------------------ timeline

    def advance(self, dt: float, ts: float) -> dict[tuple[str, int], list[str]]:
        """Lines for the next `dt` simulated seconds, stamped `ts`, keyed by (family, file)."""
        out: dict[tuple[str, int], list[str]] = {}
        rng = self.rng
        self._now = ts
        t0, t1 = self.t, self.t + dt
        for fam in FAMILIES:
            acc = self._acc[fam.name] + fam.rate * dt
            n = int(acc)
            self._acc[fam.name] = acc - n
            for _ in range(n):
                key = (fam.name, rng.randrange(fam.files))
                out.setdefault(key, []).append(self._line(fam, ts, None))
        cycle, phase = divmod(t0, _CYCLE)
        for i, b in enumerate(_BURSTS):
            if b.start <= phase < b.start + b.length:
                rate = b.rate
            elif b.start - _LEAD <= phase < b.start:
                rate = b.rate * _LEAD_SHARE
            else:
                continue
            acc = self._burst_acc[i] + rate * dt
            n = int(acc)
            self._burst_acc[i] = acc - n
            fam = _BY_NAME[b.family]
            target = self._target(b.family, int(cycle))
            for _ in range(n):
                key = (fam.name, rng.randrange(fam.files))
                out.setdefault(key, []).append(self._line(fam, ts, target))
        for k, collector in enumerate(_COLLECTORS):
            offset = 3 + 5 * k  # the two collectors report 5 s apart
            if (t1 - offset) // _STATS_EVERY > (t0 - offset) // _STATS_EVERY:
                line = f"{_pick_area(rng)},{int(ts)},{self._stats(collector)}\n"
                out.setdefault(("kernel", k % _BY_NAME["kernel"].files), []).append(line)
        self.t = t1
        return out

    def _target(self, family: str, cycle: int) -> dict[str, Any]:
        """The group a burst hits: a new one every cycle, derived from seed and cycle only."""
        key = (family, cycle)
        if key not in self._targets:
            r = random.Random(f"{self.seed}:{family}:{cycle}")
            area = r.choice(_BURST_AREAS)
            target: dict[str, Any] = {"area": area}
            if family == "phperror":
                target["tpl"] = r.choice(_PHP_BURSTABLE)
            elif family == "mongoerror":
                target["tpl"] = r.choice(_MONGO_BURSTABLE)
                target["server"] = f"mongo-{area}-shard{r.randint(1, 3)}:27017"
            elif family == "error":
                target["tpl"] = r.choice((0, 1, 4, 9))
            elif family == "rcfail":
                target["tpl"] = r.choice((0, 1, 2, 4))
            elif family == "memcachefail":
                target["server"] = self._cache_server(area, r)
                target["error"] = 0
            elif family == "mongoslow":
                target["coll"] = "user_items"
            self._targets = {k: v for k, v in self._targets.items() if k[1] >= cycle - 1}
            self._targets[key] = target
        return self._targets[key]

    def _line(self, fam: Family, ts: float, target: dict[str, Any] | None) -> str:
        rng = self.rng
        if rng.random() < _NO_ENVELOPE:
            return "-- MARK --\n"
        area = target["area"] if target else _pick_area(rng)
        stamp = int(ts * 1000) + rng.randrange(1000) if fam.ms else int(ts)
        msg = self._gen[fam.name](area, target)
        if msg.startswith("{") and rng.random() < _GARBAGE_JSON:
            msg = msg[: rng.randrange(5, len(msg) - 1)]  # a collector cut the line short
        return f"{area},{stamp},{msg}\n"

    # ------------------------------------------------------------------ helpers

    def _uid(self, area: str) -> int:
        # A small player pool per area, so distinct users < sessions.
        return 10_000_000 + AREAS.index(area) * 1_000_000 + self.rng.randrange(4000)

    def _host(self, area: str) -> str:
        return f"web-{area}-{self.rng.randint(1, 4):02d}"

    def _ip(self) -> str:
        r = self.rng
        return f"{r.choice((203, 198, 100, 185))}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def _cache_server(self, area: str, r: random.Random | None = None) -> str:
        r = r or self.rng
        return f"10.{AREAS.index(area)}.3.{r.randint(21, 24)}:11211"

    def _fill(self, text: str, area: str, **fixed: Any) -> str:
        r = self.rng
        if "{" not in text:
            return text
        values: dict[str, Any] = dict(
            uid=self._uid(area),
            uid2=self._uid(area),
            n=r.randrange(1000, 99_999_999),
            m=r.randrange(10, 5000),
            d=r.randrange(1, 40),
            hex=f"{r.getrandbits(24):06x}",
            hex2=f"{r.getrandbits(24):06x}",
            area=area,
            server=f"mongo-{area}-shard{r.randint(1, 3)}:27017",
            pid=r.randrange(300, 32000),
        )
        values.update(fixed)
        return text.format(**values)

    @staticmethod
    def _json(obj: dict[str, Any]) -> str:
        return json.dumps(obj, separators=(",", ":"))

    def _log_info(self, area: str, uri: str | None = None, uid: int = 0) -> dict[str, Any]:
        uid = uid or self._uid(area)
        return {
            "uid": uid,
            "host": self._host(area),
            "ip": self._ip(),
            "uri": uri or f"/api/?class=User&method=sync&uid={uid}",
        }

    # ------------------------------------------------------------------ families

    def _phperror(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        ts = int(self._now)
        if self._php_time[0] != ts:  # one strftime per second, not per line
            self._php_time = (ts, time.strftime("%d-%b-%Y %H:%M:%S UTC", time.gmtime(ts)))
        when = self._php_time[1]
        host = self._host(area)
        if target is None and r.random() < 0.02:
            host = f"stage-{area}-01"  # staging boxes: the parser ignores them
        if target is None and r.random() < _STACK_TRACE:
            if r.random() < 0.5:
                return f"{host} [{when}] PHP Stack trace:"
            return f"{host} [{when}] PHP   {r.randint(1, 9)}. {{main}}() {APP}/index.php:0"
        i = target["tpl"] if target else r.choices(range(len(_PHP)), cum_weights=_PHP_CUM)[0]
        level, text, file, line, _ = _PHP[i]
        msg = self._fill(text, area)
        return f"{host} [{when}] PHP {level}:  {msg} in {APP}/{file} on line {line}"

    def _mongoerror(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        i = target["tpl"] if target else r.randrange(len(_MONGO_ERRORS))
        cls, text = _MONGO_ERRORS[i]
        server = target["server"] if target else f"mongo-{area}-shard{r.randint(1, 3)}:27017"
        message = self._fill(text, area, server=server)
        return self._json(
            {
                "_log_info": self._log_info(area),
                "class": cls,
                "server": server,
                "code": r.choice((11000, 13435, 10107, 16550)),
                "message": message,
            }
        )

    def _error(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        i = target["tpl"] if target else r.randrange(len(_ERRORS))
        cls, text, file, line = _ERRORS[i]
        level = "error" if target else r.choices(("error", "critical", "warning"), (80, 5, 15))[0]
        return self._json(
            {
                "_log_info": self._log_info(area),
                "class": cls,
                "level": level,
                "message": self._fill(text, area),
                "trace": [
                    {"file": f"{APP}/{file}", "line": line},
                    {"file": f"{APP}/lib/core/Dispatcher.php", "line": 118},
                    {"file": f"{APP}/index.php", "line": 42},
                ],
            }
        )

    def _session(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        return self._json(
            {
                "uid": self._uid(area),
                "type": r.choices(("login", "reconnect", "heartbeat"), (45, 10, 45))[0],
                "platform": r.choices(("facebook", "ios", "android", "web"), (60, 20, 15, 5))[0],
                "ver": f"2.3.{r.randint(0, 4)}",
                "ip": self._ip(),
            }
        )

    def _newaccount(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        ref = r.choices(
            (
                f"fb_ad_{r.randint(3300, 3330)}",
                "fb_feed",
                "fb_request",
                "bookmark",
                "appcenter",
                "qa_smoke",
            ),
            (40, 20, 20, 10, 6, 4),
        )[0]
        return self._json(
            {
                "uid": 19_000_000 + r.randrange(900_000),
                "platform": r.choice(("facebook", "ios", "android")),
                "ref": ref,
                "ip": self._ip(),
            }
        )

    def _levelup(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        level = 2 + int(40 * r.random() ** 2)  # most players are early in the game
        return self._json(
            {"uid": self._uid(area), "from": level - 1, "to": level, "exp": level * level * 150}
        )

    def _mission(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        act = r.choices(("accept", "complete", "abandon", "fail"), (55, 30, 8, 7))[0]
        mission = _MISSIONS[min(int(len(_MISSIONS) * r.random() ** 1.5), len(_MISSIONS) - 1)]
        return self._json(
            {
                "uid": self._uid(area),
                "mission": {"id": mission, "act": act},
                "spent": r.randrange(0, 500, 10),
            }
        )

    def _rcfail(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        i = target["tpl"] if target else r.choices(range(len(_RC_FAILS)), cum_weights=_RC_CUM)[0]
        uri, rc, reason = _RC_FAILS[i]
        uid = self._uid(area)
        # One format call so that {n}, {d} and {uid2} agree between uri and reason.
        both = self._fill(uri + "\x00" + reason, area, uid=uid)
        uri_s, reason_s = both.split("\x00")
        return self._json(
            {"_log_info": self._log_info(area, uri_s, uid), "rc": rc, "reason": reason_s}
        )

    def _flashclick(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        scene = r.choice(_SCENE_NAMES)
        button = r.choice(_SCENES[scene]).format(g=r.choice(_GEMS), d=r.randint(1, 9))
        return self._json({"uid": self._uid(area), "scene": scene, "button": button})

    def _payment(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        currency = "MXN" if area == "us" and r.random() < 0.05 else CURRENCY[area]
        prices = _PRICES.get(currency, (25.0, 65.0, 129.0, 259.0, 649.0))
        pack = r.choices(range(5), (35, 30, 20, 10, 5))[0]
        amount: float = prices[pack]
        status = r.choices(("ok", "pending", "failed"), (85, 10, 5))[0]
        if status == "ok" and r.random() < 0.02:
            amount = -amount  # a chargeback
        channel = {
            "br": ("boleto", "paypal", "card"),
            "th": ("mol", "card"),
            "vn": ("mol",),
            "id": ("mol", "card"),
        }.get(area, ("paypal", "facebook_credits", "card"))
        return self._json(
            {
                "uid": self._uid(area),
                "txn": f"PAY-{r.getrandbits(40):010X}",
                "channel": "sandbox" if r.random() < 0.02 else r.choice(channel),
                "status": status,
                "currency": currency,
                "amount": amount,
                "item": f"gems_{_GEMS[pack]}",
            }
        )

    def _slowresponse(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        very = r.random() < 0.03
        elapsed = round(r.uniform(5.0, 30.0) if very else 1.0 + 4.0 * r.random() ** 2, 3)
        uid = self._uid(area)
        uri = self._fill(r.choice(_SLOW_URIS), area, uid=uid)
        return self._json(
            {
                "_log_info": self._log_info(area, uri, uid),
                "elapsed": elapsed,
                "grade": "very_slow" if very else "slow",
            }
        )

    def _memcachefail(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        if target:
            server, err = target["server"], _MEMCACHE_ERRORS[target["error"]][0]
        else:
            server = self._cache_server(area)
            err = r.choices(_MEMCACHE_ERRORS, cum_weights=_MEMCACHE_CUM)[0][0]
        return self._json(
            {
                "_log_info": self._log_info(area),
                "server": server,
                "op": r.choice(_CACHE_OPS),
                "key": f"user_{self._uid(area)}_farm",
                "error": self._fill(err, area),
            }
        )

    def _memcacheslow(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        return self._json(
            {
                "server": self._cache_server(area),
                "op": r.choice(_CACHE_OPS),
                "key": r.choice(("user_{}_farm", "user_{}_gifts", "rank_{}_daily")).format(
                    self._uid(area)
                ),
                "ms": 20 + int(380 * r.random() ** 2),
            }
        )

    def _mongoslow(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        if target:  # a collection scan after an index went missing
            coll, op, ms = target["coll"], "find", r.randint(4000, 20000)
        else:
            coll, op = r.choice(_COLLECTIONS), r.choice(_MONGO_OPS)
            ms = 100 + int(1900 * r.random() ** 3)
        return self._json(
            {
                "server": f"mongo-{area}-shard{r.randint(1, 3)}:27017",
                "ns": {"db": f"farm_{area}", "coll": coll},
                "op": op,
                "ms": ms,
                "query": f"{{ uid: {self._uid(area)}, type: {r.randint(1, 9)} }}",
            }
        )

    def _kernel(self, area: str, target: dict[str, Any] | None) -> str:
        r = self.rng
        host = r.choice(
            (
                self._host(area),
                f"mongo-{area}-shard{r.randint(1, 3)}",
                f"cache-{area}-0{r.randint(1, 4)}",
            )
        )
        return f"{self._fill(r.choice(_KERNEL), area)},{host}"

    def _stats(self, collector: str) -> str:
        """A syslog-ng statistics line; every third one reports lines lost by one program."""
        r = self.rng
        self._stats_count += 1
        lossy = r.choice(_STAT_PROGRAMS) if self._stats_count % 3 == 1 else ""
        parts = [
            f"dropped='program({p})={r.randint(5, 400) if p == lossy else 0}'"
            for p in _STAT_PROGRAMS
        ]
        parts += [
            f"processed='destination(d_{p})={int(_BY_NAME[p].rate * _STATS_EVERY * r.uniform(0.8, 1.2))}'"
            for p in _STAT_PROGRAMS
        ]
        parts.append(f"processed='center(received)={r.randint(20000, 90000)}'")
        return f"syslog-ng[{r.randint(900, 2000)}]: Log statistics; {', '.join(parts)},{collector}"


# --------------------------------------------------------------------------- files


def _log_file(dest: Path, family: str, index: int) -> Path:
    return dest / "logs" / f"{family}.{index + 1}.log"


def prepare_demo(dest: Path) -> Path:
    """Create logs/ history/ var/, copy demo.toml to dest/alser.toml, create empty log files."""
    dest = Path(dest)
    for sub in ("logs", "history", "var"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    config = dest / "alser.toml"
    shutil.copyfile(data_file("conf", "demo.toml"), config)
    for fam in FAMILIES:
        for i in range(fam.files):
            _log_file(dest, fam.name, i).touch()
    return config


def write_history(dest: Path, *, start_ts: int, minutes: int, seed: int) -> dict[str, int]:
    """Write `minutes` of traffic from start_ts into dest/history/; returns lines per family."""
    hist = Path(dest) / "history"
    hist.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d%H%M", time.gmtime(start_ts))
    traffic = _Traffic(seed)
    counts = dict.fromkeys((f.name for f in FAMILIES), 0)
    files: dict[tuple[str, int], TextIO] = {}
    try:
        for fam in FAMILIES:
            for i in range(fam.files):
                path = hist / f"{fam.name}.{i + 1}.{stamp}.log"
                files[(fam.name, i)] = path.open("w", encoding="utf-8", buffering=1 << 16)
        for second in range(minutes * 60):
            for key, lines in traffic.advance(1.0, start_ts + second).items():
                files[key].writelines(lines)
                counts[key[0]] += len(lines)
    finally:
        for fh in files.values():
            fh.close()
    return counts


class DemoWriter:
    """Appends live traffic to dest/logs/<family>.<n>.log from a daemon thread."""

    def __init__(self, dest: Path, seed: int, *, tick: float = 0.1) -> None:
        self.dest = Path(dest)
        self.tick = tick
        self.lines_written = 0
        self._traffic = _Traffic(seed)
        self._files: dict[tuple[str, int], TextIO] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, seconds: float, now: float | None = None) -> int:
        """Write `seconds` of simulated traffic at once (stamped `now`); returns the line count.

        The thread calls this every tick; tests and benchmarks may call it directly.
        """
        ts = time.time() if now is None else now
        written = 0
        with self._lock:
            remaining = seconds
            while remaining > 1e-9:
                dt = min(remaining, 1.0)  # bursts and stats are evaluated per <= 1 s slice
                for key, lines in self._traffic.advance(dt, ts).items():
                    fh = self._open(key)
                    fh.writelines(lines)
                    written += len(lines)
                remaining -= dt
            for fh in self._files.values():
                fh.flush()
            self.lines_written += written
        return written

    def _open(self, key: tuple[str, int]) -> TextIO:
        fh = self._files.get(key)
        if fh is None:
            path = _log_file(self.dest, key[0], key[1])
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = self._files[key] = path.open("a", encoding="utf-8")
        return fh

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("DemoWriter already started")
        self._thread = threading.Thread(target=self._run, name="alser-demo-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread, wait for it and close the files (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            for fh in self._files.values():
                fh.close()
            self._files.clear()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        deadline = time.monotonic()
        # Write first, then wait: even an immediate stop() leaves one tick of lines behind.
        while True:
            self.step(self.tick)
            deadline += self.tick
            delay = deadline - time.monotonic()
            if delay < -1.0:  # fell far behind (a suspended laptop): skip, don't replay
                deadline = time.monotonic()
            if self._stop.wait(max(0.0, delay)):
                return
