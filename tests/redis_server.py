"""Real Redis servers for tests and benches, on free loopback ports and without persistence: one
server, a primary with replicas watched by three Sentinels, or a Cluster.

Every process runs in a temporary directory of its own (`--dir`), removed when it stops: what
Redis writes there (a replica's copy of the data set, a sentinel's rewritten configuration, a
cluster node's nodes.conf) never lands in the checkout.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from redis.crc import key_slot


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port() -> int:
    """A free port whose cluster bus port (the port + 10000) is free too."""
    for _ in range(200):
        port = random.randint(20_000, 55_000)
        try:
            for candidate in (port, port + 10_000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def binary(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: `make test` installs Debian's redis-server (which has it)"
    return found


def wait_until(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Netns:
    """A network namespace joined to this one by a veth pair, `tc netem` holding every packet
    back `delay_ms` each way (none for 0), so what runs inside is one real network hop away (at
    ADDRESS). Needs root (CAP_NET_ADMIN) and, for a delay, the kernel's sch_netem;
    `unavailable()` says why it cannot be had."""

    HOST, ADDRESS = "10.211.0.1", "10.211.0.2"

    def __init__(self, delay_ms: float = 1.0):
        self.name = f"embedded-{os.getpid()}"
        self.outer, self.inner = f"emb{os.getpid() % 100_000}h", f"emb{os.getpid() % 100_000}r"
        self.delay_ms = delay_ms

    def unavailable(self) -> str | None:
        if os.geteuid() != 0:
            return "network namespaces need root"
        if not (shutil.which("ip") and shutil.which("tc")):
            return "ip and tc (Debian's iproute2) are missing"
        probe = subprocess.run(["ip", "netns", "add", "embedded-probe"], capture_output=True, text=True)
        if probe.returncode:
            return f"ip netns add failed: {probe.stderr.strip()}"
        try:
            if not self.delay_ms:
                return None
            netem = ["ip", "netns", "exec", "embedded-probe", "tc", "qdisc", "add", "dev", "lo", "root", "netem"]
            tried = subprocess.run([*netem, "delay", "1ms"], capture_output=True, text=True)
            if tried.returncode:
                return f"tc netem failed ({tried.stderr.strip()}): this kernel has no sch_netem"
            return None
        finally:
            subprocess.run(["ip", "netns", "del", "embedded-probe"], capture_output=True)

    def start(self) -> Netns:
        inside = ["ip", "netns", "exec", self.name]
        delay = ["root", "netem", "delay", f"{self.delay_ms}ms"]
        for command in (
            ["ip", "netns", "add", self.name],
            ["ip", "link", "add", self.outer, "type", "veth", "peer", "name", self.inner],
            ["ip", "link", "set", self.inner, "netns", self.name],
            ["ip", "addr", "add", f"{self.HOST}/30", "dev", self.outer],
            ["ip", "link", "set", self.outer, "up"],
            [*inside, "ip", "addr", "add", f"{self.ADDRESS}/30", "dev", self.inner],
            [*inside, "ip", "link", "set", self.inner, "up"],
            [*inside, "ip", "link", "set", "lo", "up"],
            *(
                [
                    ["tc", "qdisc", "add", "dev", self.outer, *delay],
                    [*inside, "tc", "qdisc", "add", "dev", self.inner, *delay],
                ]
                if self.delay_ms
                else []
            ),
        ):
            if subprocess.run(command, capture_output=True).returncode:
                self.stop()
                raise RuntimeError(f"could not set up the network namespace: {' '.join(command)}")
        return self

    def stop(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)  # the veth pair goes with it


class RedisServer:
    """One redis-server (or, with `sentinel`, one Sentinel) with its own temporary directory;
    with `tls` (CA, certificate and key files) it speaks only TLS and asks clients for a
    certificate the CA signed."""

    def __init__(
        self,
        port: int | None = None,
        *,
        args: tuple[str, ...] = (),
        sentinel: str | None = None,
        tls: tuple[str, str, str] | None = None,
        netns: Netns | None = None,
    ):
        self.port = port or free_port()
        self.args = args
        self.sentinel = sentinel  # a Sentinel's configuration, less its port and directory
        self.tls = tls
        self.netns = netns  # run inside this network namespace, on its address
        self.host = netns.ADDRESS if netns else "127.0.0.1"
        self.process: subprocess.Popen[bytes] | None = None
        self.dir: Path | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}/0"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> RedisServer:
        self.dir = Path(tempfile.mkdtemp(prefix="embedded-redis-"))
        common = ["--port", str(self.port), "--bind", self.host, "--dir", str(self.dir)]
        if self.tls:
            ca, cert, key = self.tls
            common[:2] = ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "yes"]
            common += ["--tls-ca-cert-file", ca, "--tls-cert-file", cert, "--tls-key-file", key]
        if self.sentinel is not None:
            config = self.dir / "sentinel.conf"  # a sentinel rewrites it as it learns the deployment
            config.write_text(self.sentinel)
            command = [binary("redis-server"), str(config), "--sentinel", *common]
        else:
            # Protected mode refuses anyone but loopback: in a namespace the app is one hop away.
            persistence = ["--save", "", "--appendonly", "no", "--protected-mode", "no" if self.netns else "yes"]
            command = [binary("redis-server"), *common, *persistence, *self.args]
        prefix = ["ip", "netns", "exec", self.netns.name] if self.netns else []  # exec: the same process
        self.process = subprocess.Popen(prefix + command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(self.client().ping, f"redis on port {self.port}", timeout=10)
        except RuntimeError:
            self.stop()
            raise
        return self

    def client(self) -> redis.Redis:
        if self.tls:
            ca, cert, key = self.tls
            return redis.Redis(
                host=self.host, port=self.port, ssl=True, ssl_ca_certs=ca, ssl_certfile=cert, ssl_keyfile=key
            )
        return redis.Redis(host=self.host, port=self.port, socket_timeout=2, socket_connect_timeout=1)

    def info(self, section: str) -> dict:
        with self.client() as client:
            return client.info(section)

    def kill(self) -> None:
        """SIGKILL: gone at once, with whatever it had not yet sent to its replicas."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class SentinelDeployment:
    """A primary, `replicas` replicas and three Sentinels that fail over within seconds: a node
    is down after `down_after_ms` without an answer, and a failover that stalls is tried again
    after twice `failover_timeout_ms` (Sentinel's defaults, 30 s and 3 min, would stretch a drill
    into minutes)."""

    SERVICE = "embedded"

    def __init__(
        self,
        replicas: int = 2,
        *,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        netns: Netns | None = None,
    ):
        self.netns = netns
        self.replica_count = replicas
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.servers: list[RedisServer] = []
        self.sentinels: list[RedisServer] = []

    @property
    def url(self) -> str:
        return f"redis+sentinel://{','.join(s.address for s in self.sentinels)}/{self.SERVICE}/0"

    def start(self) -> SentinelDeployment:
        primary = RedisServer(netns=self.netns).start()
        self.servers = [primary]
        for _ in range(self.replica_count):
            replica_of = ("--replicaof", primary.host, str(primary.port))
            self.servers.append(RedisServer(args=replica_of, netns=self.netns).start())
        self.wait_for_replicas(primary)
        config = (
            f"sentinel monitor {self.SERVICE} {primary.host} {primary.port} 2\n"
            f"sentinel down-after-milliseconds {self.SERVICE} {self.down_after_ms}\n"
            f"sentinel failover-timeout {self.SERVICE} {self.failover_timeout_ms}\n"
            f"sentinel parallel-syncs {self.SERVICE} {max(1, self.replica_count)}\n"
        )
        self.sentinels = [RedisServer(sentinel=config, netns=self.netns).start() for _ in range(3)]
        for sentinel in self.sentinels:  # each knows the others (needed to elect a leader) and the replicas
            wait_until(lambda s=sentinel: self._sees_everyone(s), f"sentinel {sentinel.port} to see the deployment")
        return self

    def _sees_everyone(self, sentinel: RedisServer) -> bool:
        with sentinel.client() as client:
            state = client.sentinel_master(self.SERVICE)
        return state["num-other-sentinels"] == 2 and state["num-slaves"] == self.replica_count

    def primary(self) -> RedisServer:
        """The server the Sentinels name as primary now."""
        with self.sentinels[0].client() as client:
            _, port = client.sentinel_get_master_addr_by_name(self.SERVICE)
        return next(s for s in self.servers if s.port == int(port))

    def wait_for_replicas(self, primary: RedisServer, count: int | None = None) -> None:
        """Until `primary` has `count` replicas (all of them by default) in sync with it."""
        want = self.replica_count if count is None else count

        def synced() -> bool:
            info = primary.info("replication")
            links = [info.get(f"slave{n}", {}) for n in range(info.get("connected_slaves", 0))]
            online = [link for link in links if link.get("state") == "online"]
            return info.get("role") == "master" and len(online) >= want

        wait_until(synced, f"{want} replicas in sync with port {primary.port}")

    def kill_primary(self) -> RedisServer:
        primary = self.primary()
        primary.kill()
        return primary

    def wait_for_failover(self, old: RedisServer, timeout: float = 30.0) -> RedisServer:
        """Until every Sentinel names a promoted replica; it is returned."""

        def promoted() -> bool:
            ports = set()
            for sentinel in self.sentinels:
                with sentinel.client() as client:
                    ports.add(int(client.sentinel_get_master_addr_by_name(self.SERVICE)[1]))
            return len(ports) == 1 and old.port not in ports and self.primary().info("replication")["role"] == "master"

        wait_until(promoted, "a replica promoted by the Sentinels", timeout)
        return self.primary()

    def stop(self) -> None:
        for server in [*self.sentinels, *self.servers]:
            server.stop()


class ClusterDeployment:
    """A Redis Cluster of `primaries` primaries with `replicas` replicas each; a node is failed
    over `node_timeout_ms` after it stops answering."""

    def __init__(self, primaries: int = 3, replicas: int = 1, *, node_timeout_ms: int = 1000):
        self.primaries = primaries
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.nodes: list[RedisServer] = []

    @property
    def url(self) -> str:
        return f"redis+cluster://{','.join(n.address for n in self.nodes if n.process is not None)}"

    def start(self) -> ClusterDeployment:
        args = (
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(self.node_timeout_ms),
        )
        count = self.primaries * (1 + self.replicas)
        self.nodes = [RedisServer(free_cluster_port(), args=args).start() for _ in range(count)]
        subprocess.run(
            [binary("redis-cli"), "--cluster", "create", *(n.address for n in self.nodes)]
            + ["--cluster-replicas", str(self.replicas), "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        wait_until(self._healthy, "the cluster to agree on its slots and sync its replicas")
        return self

    def _healthy(self) -> bool:
        for node in self.live():
            if node.info("cluster").get("cluster_enabled") != 1:
                return False
            with node.client() as client:
                if client.execute_command("CLUSTER", "INFO").decode().find("cluster_state:ok") < 0:
                    return False
            info = node.info("replication")
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                return False
        return True

    def live(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process is not None]

    def primary_for(self, key: str) -> RedisServer:
        """The node that serves `key`'s slot now, as the live nodes see it."""
        slot = key_slot(key.encode())
        with self.live()[0].client() as client:
            for start, end, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = int(primary[1])
                    return next(n for n in self.nodes if n.port == port)
        raise LookupError(slot)

    def flush(self) -> None:
        """Every key gone, on every primary (replicas follow)."""
        for node in self.live():
            if node.info("replication")["role"] == "master":
                with node.client() as client:
                    client.flushall()

    def wait_for_failover(self, old: RedisServer, key: str, timeout: float = 30.0) -> RedisServer:
        """Until `key`'s slot is served by a promoted replica and the cluster is whole again."""

        def promoted() -> bool:
            return self.primary_for(key) is not old and self._healthy()

        wait_until(promoted, "a replica promoted by the cluster", timeout)
        return self.primary_for(key)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
