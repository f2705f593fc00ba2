"""The local Apache Kafka broker: install it from Maven Central, run one KRaft node, run its tools.

    broker.py install                   resolve deploy/kafka/pom.xml into deploy/kafka/lib (once per pom)
    broker.py run --data-dir DIR [--node N]
                                        format DIR once, then exec the broker (supervisord holds the JVM);
                                        with KAFKA_BROKERS > 1, node N of the local cluster (0 to count-1)
    broker.py tool NAME [ARGS...]       a Kafka command-line tool against KAFKA_BOOTSTRAP_SERVERS
    broker.py tools                     the tool names
    broker.py java                      exit 0 if a Java 17+ runtime is there (deploy.sh installs one if not)

Run by the virtualenv's Python (the CLI, supervisord and the test fixtures), for the table of defaults.
Environment: KAFKA_BOOTSTRAP_SERVERS (host:port the broker listens on and the tools talk to),
KAFKA_CONTROLLER_PORT, KAFKA_HEAP_OPTS (their defaults: the one table, common.defaults),
KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (set: both listeners ask for SASL/PLAIN as that user),
KAFKA_DATA_DIR (where the tools' client.properties is written),
JAVA_HOME (default: `java` on the PATH), HOME (Maven's ~/.m2 is $HOME/.m2, whatever Java thinks).
"""

import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from common.defaults import Settings, first_bootstrap, kafka_nodes

SETTINGS = Settings()  # the environment, with the table's defaults for what is unset or empty

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LIB = HERE / "lib"
STAMP = LIB / ".installed"
SERVER_PROPERTIES = HERE / "server.properties"
BROKER_LOG4J = HERE / "log4j2.yaml"
TOOLS_LOG4J = HERE / "tools-log4j2.yaml"
MIN_JAVA = 17

# The tools that ship in the resolved jars, by the name of the script that runs each in Kafka's
# own distribution (without the `kafka-` prefix and `.sh`).
TOOLS = {
    "topics": "org.apache.kafka.tools.TopicCommand",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "configs": "org.apache.kafka.tools.ConfigCommand",
    "log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "features": "org.apache.kafka.tools.FeatureCommand",
    "cluster": "org.apache.kafka.tools.ClusterTool",
    "storage": "kafka.tools.StorageTool",
}
NO_BOOTSTRAP = {"storage", "cluster"}


class BrokerError(RuntimeError):
    """A clear reason the broker cannot be installed or run."""


def kafka_version() -> str:
    """The pinned broker version (the pom's kafka.version)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if not match:
        raise BrokerError(f"no <kafka.version> in {POM}")
    return match.group(1)


def _pom_hash() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def installed() -> bool:
    return STAMP.is_file() and STAMP.read_text().strip() == _pom_hash()


def install(quiet: bool = True) -> bool:
    """Copy the broker's jars into lib/ unless this pom's are there; True if it resolved anything."""
    if installed():
        return False
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven is required to install the broker (apt-get install maven)")
    java_version()
    shutil.rmtree(LIB, ignore_errors=True)
    cmd = [mvn, "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={LIB}"]
    cmd += ["-DincludeScope=runtime", *(["-q"] if quiet else [])]
    result = subprocess.run(cmd, capture_output=quiet, text=True, check=False, env=maven_env())
    if result.returncode != 0:
        raise BrokerError(f"mvn dependency:copy-dependencies failed:\n{(result.stdout or '')[-3000:]}")
    STAMP.write_text(_pom_hash() + "\n")
    return True


def maven_env() -> dict[str, str]:
    """The environment for Maven, with its home (~/.m2: settings and local repository) under $HOME.

    Java takes user.home from the password database, not from $HOME: without this, a run with another
    HOME (a CI job, a test of a first run) would still read and fill the account's own ~/.m2.
    """
    env = dict(os.environ)
    env["MAVEN_OPTS"] = f"{env.get('MAVEN_OPTS', '')} -Duser.home={Path.home()}".strip()
    return env


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    path = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not path or not os.access(path, os.X_OK):
        raise BrokerError("a Java 17+ runtime is required (apt-get install openjdk-17-jre-headless)")
    return path


def java_version() -> int:
    out = subprocess.run([java(), "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    major = int(match.group(2)) if major == 1 and match and match.group(2) else major
    if major < MIN_JAVA:
        raise BrokerError(f"Kafka {kafka_version()} needs Java {MIN_JAVA}+, found: {out.strip()[:120]}")
    return major


def _classpath() -> str:
    if not installed():
        raise BrokerError("the broker is not installed (./deploy.sh build, or deploy/kafka/broker.py install)")
    return str(LIB / "*")


def _jvm(log4j: Path, heap: str) -> list[str]:
    return [
        java(),
        *heap.split(),
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        _classpath(),
    ]


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, never starting with '-'."""
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


def _jaas_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _property(value: str) -> str:
    """A value as a Java .properties file reads it back (a backslash there starts an escape)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _credentials() -> tuple[str, str]:
    """(user, password) the broker asks for (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD); no password: none."""
    return SETTINGS["KAFKA_SASL_USERNAME"], SETTINGS["KAFKA_SASL_PASSWORD"]


def _client_jaas(user: str, password: str) -> str:
    return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f"username={_jaas_quoted(user)} password={_jaas_quoted(password)}"
    )


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a file only its owner can read (it may hold the SASL password)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def render_properties(
    data_dir: Path, host: str, port: int, controller_port: int, *, node: int = 0, voters: str | None = None
) -> Path:
    """Write DATA_DIR/server.properties: the committed template with this node's id, addresses and log
    dir. `voters`: the controller quorum (node.id@host:port, comma-separated); alone, just this node.
    With more than one voter, the internal topics get three replicas (at most one per voter) and a
    write needs all but one of them, like the pipeline's topics.

    With KAFKA_SASL_PASSWORD set, both listeners (clients' and the controller's) ask for SASL/PLAIN
    with that one user; the broker signs in to its own controller with it too. Without, plain.
    """
    user, password = _credentials()
    client = "SASL_PLAINTEXT" if password else "PLAINTEXT"
    voters = voters or f"{node + 1}@{host}:{controller_port}"
    replicas = min(3, len(voters.split(",")))
    in_sync = str(max(1, replicas - 1))
    overrides = {
        "node.id": str(node + 1),
        "listeners": f"{client}://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"{client}://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "inter.broker.listener.name": client,
        "listener.security.protocol.map": f"{client}:{client},CONTROLLER:{client}",
        "controller.quorum.voters": voters,
        "log.dirs": str(data_dir / "logs"),
        "offsets.topic.replication.factor": str(replicas),
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": in_sync,
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": in_sync,
        "default.replication.factor": str(replicas),
        "min.insync.replicas": in_sync,
    }
    if password:
        # One user, known to both listeners: `user_NAME` is the server side, username/password
        # the side the broker uses when it connects to its controller.
        jaas = _property(f"{_client_jaas(user, password)} user_{user}={_jaas_quoted(password)};")
        overrides |= {
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": jaas,
            "listener.name.controller.plain.sasl.jaas.config": jaas,
        }
    lines = []
    for line in SERVER_PROPERTIES.read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        lines.append(f"{key}={overrides.pop(key)}" if key in overrides and not line.startswith("#") else line)
    lines += [f"{key}={value}" for key, value in overrides.items()]
    target = data_dir / "server.properties"
    _write_private(target, "\n".join(lines) + "\n")
    return target


def client_properties(directory: Path) -> Path:
    """DIRECTORY/client.properties: how the command-line tools sign in (their --command-config)."""
    user, password = _credentials()
    lines = ["security.protocol=SASL_PLAINTEXT" if password else "security.protocol=PLAINTEXT"]
    if password:
        lines += ["sasl.mechanism=PLAIN", f"sasl.jaas.config={_property(_client_jaas(user, password))};"]
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "client.properties"
    _write_private(target, "\n".join(lines) + "\n")
    return target


def format_storage(data_dir: Path, properties: Path, id_file: Path | None = None) -> str:
    """Format the log directory once; the cluster id is kept in `id_file` (DATA_DIR/cluster.id), which
    the nodes of a local cluster share: the first to start writes it, the others read it."""
    id_file = id_file or data_dir / "cluster.id"
    if not id_file.exists():
        # Written whole, then linked into place: of nodes starting together one link wins, and nobody
        # ever reads a half-written id.
        draft = id_file.with_name(f".{id_file.name}.{os.getpid()}")
        draft.write_text(new_cluster_id() + "\n")
        try:
            os.link(draft, id_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    cluster_id = id_file.read_text().strip()
    if (data_dir / "logs" / "meta.properties").exists():
        return cluster_id
    cmd = [*_jvm(TOOLS_LOG4J, "-Xmx256m"), TOOLS["storage"], "format", "--config", str(properties)]
    cmd += ["--cluster-id", cluster_id, "--ignore-formatted"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BrokerError(f"formatting {data_dir} failed:\n{result.stdout}{result.stderr}")
    return cluster_id


def broker_command(data_dir: Path, controller_port: int | None = None, node: int | None = None) -> list[str]:
    """Prepare DATA_DIR (render the config, format once) and return the command that runs the broker.

    `node` (with KAFKA_BROKERS > 1): node N of the local cluster, in DATA_DIR/node-N, on the addresses
    common.defaults.kafka_nodes gives it; the cluster id is DATA_DIR/cluster.id for all of them."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    nodes = kafka_nodes(SETTINGS)
    if node is not None and len(nodes) > 1:
        if not 0 <= node < len(nodes):
            raise BrokerError(f"node {node} is not one of the {len(nodes)} nodes (KAFKA_BROKERS)")
        host, port, controller_port = nodes[node]
        voters = ",".join(f"{n + 1}@{h}:{c}" for n, (h, _, c) in enumerate(nodes))
        node_dir = data_dir / f"node-{node}"
        node_dir.mkdir(exist_ok=True)
        properties = render_properties(node_dir, host, port, controller_port, node=node, voters=voters)
        format_storage(node_dir, properties, id_file=data_dir / "cluster.id")
    else:
        host, port = first_bootstrap(SETTINGS)
        controller_port = controller_port or int(SETTINGS["KAFKA_CONTROLLER_PORT"])
        properties = render_properties(data_dir, host, port, controller_port)
        format_storage(data_dir, properties)
    heap = SETTINGS["KAFKA_HEAP_OPTS"]
    return [*_jvm(BROKER_LOG4J, heap), "kafka.Kafka", str(properties)]


# The tools that talk to the broker take the client properties file as --command-config.
CONFIG_FLAG = {name: "--command-config" for name in TOOLS if name not in NO_BOOTSTRAP}


def tool_command(name: str, args: list[str]) -> list[str]:
    """The command line of one Kafka tool, with --bootstrap-server and the sign-in added unless given."""
    name = name.removeprefix("kafka-").removesuffix(".sh")
    if name not in TOOLS:
        raise BrokerError(f"unknown Kafka tool '{name}' (one of: {', '.join(TOOLS)})")
    given = any(arg.startswith(("--bootstrap-server", "--bootstrap-controller", "--broker-list")) for arg in args)
    wants_help = any(arg in ("--help", "-h", "--version") for arg in args)
    extra = []
    if name not in NO_BOOTSTRAP and not given and not wants_help:
        host, port = first_bootstrap(SETTINGS)
        extra = ["--bootstrap-server", f"{host}:{port}"]
    flag = CONFIG_FLAG.get(name)
    if flag and not wants_help and not any(arg.startswith(flag) for arg in args):
        # The file holds the password: in the broker's own data directory (private to its user).
        directory = Path(os.environ.get("KAFKA_DATA_DIR") or tempfile.mkdtemp(prefix="kafka-tool-"))
        extra += [flag, str(client_properties(directory))]
    return [*_jvm(TOOLS_LOG4J, "-Xmx256m -XX:TieredStopAtLevel=1"), TOOLS[name], *extra, *args]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install")
    sub.add_parser("version")
    sub.add_parser("tools")
    sub.add_parser("java")
    run = sub.add_parser("run")
    run.add_argument("--data-dir", type=Path, required=True)
    run.add_argument("--controller-port", type=int)
    run.add_argument("--node", type=int, help="node N of a local cluster (KAFKA_BROKERS > 1)")
    tool = sub.add_parser("tool")
    tool.add_argument("name")
    tool.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            if install(quiet=True):
                print(f"installed Apache Kafka {kafka_version()} into {LIB}")
        elif args.command == "version":
            print(kafka_version())
        elif args.command == "tools":
            print("\n".join(TOOLS))
        elif args.command == "java":
            java_version()
        elif args.command == "run":
            cmd = broker_command(args.data_dir, args.controller_port, args.node)
            sys.stdout.flush()
            # exec, so the supervisor's PID is the JVM's and its signals reach the broker itself.
            os.execv(cmd[0], cmd)  # noqa: S606 (an argument list, no shell)
        else:
            cmd = tool_command(args.name, args.args)
            os.execv(cmd[0], cmd)  # noqa: S606 (an argument list, no shell)
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
