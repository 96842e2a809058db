"""The deployment files in deploy/ parse, validate and agree with the code, without an engine.

No Docker engine or Kubernetes cluster runs here, so the files are checked by tools that
parse them: Debian's `docker-compose` 1.29 (`config` resolves and validates the compose
file without an engine) and `kubernetes-validate` (the Kubernetes API schemas, offline).
`make test` and `make deploy-check` install both; without them these tests fail and say how
to get them. What the tools cannot know is checked here: that every CHURNWATCH_* variable is
a real setting with a valid value, that mounts and copied files exist, and that ports, probes,
scrape targets and grace periods match the worker's settings.
"""

from __future__ import annotations

import base64
import importlib.util
import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import ENV_PREFIX, Settings, SettingsError, env_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
K8S = sorted((DEPLOY / "k8s").glob("*.yaml"))
#: The Kubernetes version the manifests are checked against (its schemas ship with the
#: pinned kubernetes-validate); the oldest minor release the manifests are meant for.
KUBERNETES_VERSION = "1.30.0"

SETTING_VARIABLES = {env_name(f.name) for f in dataclasses.fields(Settings) if "kind" in f.metadata}
WORKER_SERVICES = ("worker-1", "worker-2")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # Without CHURNWATCH_* variables: the compose file takes some from the shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


# --- docker compose --------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file as `docker-compose config` resolves it (anchors merged, paths absolute)."""
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose is not installed: run `make deploy-tools` (Debian package docker-compose)",
                    pytrace=False)
    result = run(tool, "-f", str(COMPOSE), "config")
    assert result.returncode == 0, f"docker-compose config rejected {COMPOSE}:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def test_compose_file_passes_docker_compose_config(compose):
    assert set(compose["services"]) == {"kafka", "topics", *WORKER_SERVICES, "prometheus", "grafana"}


def test_docker_compose_config_rejects_a_broken_compose_file(tmp_path):
    # The check above would be worthless if `config` accepted anything.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    depends_on:\n      kafka:", "    depends_onn:\n      kafka:", 1))
    assert "depends_onn" in broken.read_text()
    result = run(shutil.which("docker-compose") or "docker-compose", "-f", str(broken), "config")
    assert result.returncode != 0
    assert "depends_onn" in result.stderr


def test_compose_runs_kafka_in_kraft_mode_with_a_valid_cluster_id(compose):
    kafka = compose["services"]["kafka"]
    env = kafka["environment"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "zookeeper" not in json.dumps(compose).lower()
    # Kafka refuses to format its log directory with anything but a base64url-encoded UUID.
    cluster_id = env["CLUSTER_ID"]
    assert len(cluster_id) == 22 and len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, cluster_id
    # Topics come from `churnwatch topics` only: an auto-created topic breaks co-partitioning.
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_compose_workers_form_one_group_with_their_own_rocksdb_volumes(compose):
    services = compose["services"]
    workers = [container_settings(services[name]) for name in WORKER_SERVICES]
    assert {w.app_id for w in workers} == {"churnwatch"}, "one consumer group"
    assert {w.store for w in workers} == {"rocksdb://"}
    # A development stack on a PLAINTEXT listener, which only the dev profile allows.
    assert {(w.profile, w.security_protocol) for w in workers} == {("dev", "PLAINTEXT")}
    assert len({w.group_instance_id for w in workers}) == 2 and all(w.group_instance_id for w in workers)
    topics = container_settings(services["topics"])
    assert all((w.partitions, w.topic_prefix, w.broker) == (topics.partitions, topics.topic_prefix, topics.broker)
               for w in workers), "the topic job creates what the workers read"
    assert services["topics"]["command"] == ["topics"]
    assert services[WORKER_SERVICES[0]]["depends_on"]["topics"]["condition"] == "service_completed_successfully"

    data_dir = dockerfile_env()["CHURNWATCH_DATA_DIR"]
    volumes = []
    for name, worker in zip(WORKER_SERVICES, workers):
        assert str(worker.data_dir) == data_dir  # the image's, not overridden
        mounts = [m.split(":") for m in services[name]["volumes"]]
        named = [source for source, target, *_ in mounts if target == data_dir and not source.startswith("/")]
        assert len(named) == 1, f"{name}: no named volume at {data_dir}: {services[name]['volumes']}"
        volumes.append(named[0])
    assert len(set(volumes)) == 2 and set(volumes) <= set(compose["volumes"]), volumes


def test_compose_stop_grace_period_outlasts_the_worker_shutdown_timeout(compose):
    for name in WORKER_SERVICES:
        service = compose["services"][name]
        timeout = container_settings(service).shutdown_timeout_seconds
        assert seconds(service["stop_grace_period"]) > timeout


def test_compose_bind_mounts_point_at_existing_paths(compose):
    mounts = [(name, m.split(":")[0]) for name, s in compose["services"].items() for m in s.get("volumes", [])]
    bind = [(name, source) for name, source in mounts if source.startswith("/")]
    assert {name for name, _ in bind} == {"prometheus", "grafana"}
    missing = [f"{name}: {source}" for name, source in bind if not Path(source).exists()]
    assert not missing, missing
    build = compose["services"]["topics"]["build"]
    assert (Path(build["context"]) / build["dockerfile"]).resolve() == DOCKERFILE


def test_compose_prometheus_scrapes_every_worker_at_its_metrics_port_with_the_rules(compose, tmp_path):
    prometheus = compose["services"]["prometheus"]
    config_file = next(Path(m.split(":")[0]) for m in prometheus["volumes"]
                       if m.split(":")[1] == "/etc/prometheus/prometheus.yml")
    config = yaml.safe_load(config_file.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # The alert rules and the dashboard select job="churnwatch".
    targets = {t for sc in jobs["churnwatch"]["static_configs"] for t in sc["targets"]}
    ports = {container_settings(compose["services"][n]).metrics_port for n in WORKER_SERVICES}
    assert targets == {f"{name}:{port}" for name in WORKER_SERVICES for port in ports}
    assert "/etc/prometheus/rules" in [m.split(":")[1] for m in prometheus["volumes"]]

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: run `make prometheus` (Debian package prometheus)", pytrace=False)
    # The rule path in the config is relative to the config file, here as in the container.
    checked = run(promtool, "check", "config", str(config_file))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 1 rule files found" in checked.stdout


def test_compose_grafana_gets_the_provisioning_the_dashboard_and_the_prometheus_url(compose):
    grafana = compose["services"]["grafana"]
    mounts = {m.split(":")[1]: Path(m.split(":")[0]) for m in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == DEPLOY / "grafana" / "provisioning"
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/churnwatch.yml").read_text())
    dashboards_at = provider["providers"][0]["options"]["path"]
    assert (mounts[dashboards_at] / "churnwatch.json").exists()
    assert grafana["environment"]["PROMETHEUS_URL"] == "http://prometheus:9090"


def test_compose_publishes_ports_on_the_host_loopback_only(compose):
    published = [(name, p) for name, s in compose["services"].items() for p in s.get("ports", [])]
    assert published
    assert all(str(p).startswith("127.0.0.1:") for _, p in published), published


def container_settings(service: dict[str, Any]) -> Settings:
    """The settings a container of the Churnwatch image sees: the image's ENV, then the service's."""
    return Settings.from_env({**dockerfile_env(), **service.get("environment", {})})


def seconds(text: str) -> float:
    """Compose durations such as ``30s`` or ``1m30s``."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"([0-9.]+)(ms|h|m|s)", str(text))
    assert parts, text
    return sum(float(n) * units[u] for n, u in parts)


# --- Dockerfile ------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile_instructions():
        if word == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
    return env


def test_dockerfile_copies_only_files_that_exist_and_the_build_context_keeps(tmp_path):
    copies = [shlex.split(rest) for word, rest in dockerfile_instructions() if word == "COPY"]
    sources = [src for args in copies if not args[0].startswith("--from") for src in args[:-1]]
    assert {"pyproject.toml", "README.md", "schemas", "detectors", "streams"} <= set(sources)
    assert all((ROOT / src).exists() for src in sources), [s for s in sources if not (ROOT / s).exists()]
    kept = {line[1:].strip("/") for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
            if line.startswith("!")}
    assert set(sources) <= kept, f"excluded from the build context: {set(sources) - kept}"
    # the classic builder (docker-compose 1.x without BuildKit) reads only the context root's file

    def rules(path):
        return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert rules(ROOT / ".dockerignore") == rules(DEPLOY / "Dockerfile.dockerignore")


def test_dockerfile_runs_the_worker_as_a_non_root_user_reachable_from_outside_the_container():
    instructions = dockerfile_instructions()
    words = dict(instructions)  # last of each kind wins, as in the final stage
    assert [rest for word, rest in instructions if word == "FROM"][-1] == "python:3.11-slim"
    user = words["USER"].split(":")[0]
    assert user.isdigit() and int(user) != 0, "a numeric non-root uid (runAsNonRoot can check it)"
    assert json.loads(words["ENTRYPOINT"]) == ["churnwatch"]
    assert json.loads(words["CMD"]) == ["worker"]
    assert "churnwatch" in _console_scripts()

    env = dockerfile_env()
    assert set(env) <= SETTING_VARIABLES | {"PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_CACHE_DIR", "PYTHONUNBUFFERED"}
    settings = Settings.from_env(env)
    assert (settings.web_host, settings.metrics_host) == ("0.0.0.0", "0.0.0.0")
    exposed = {int(p) for word, rest in instructions if word == "EXPOSE" for p in rest.split()}
    assert exposed == {settings.web_port, settings.metrics_port}
    health = words["HEALTHCHECK"]
    assert "CHURNWATCH_WEB_PORT" in health and "'6066'" in health and "http://127.0.0.1:%s/" in health
    assert str(settings.data_dir) in words["VOLUME"]


def _console_scripts() -> dict[str, str]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


# --- Kubernetes ------------------------------------------------------------------------


def k8s_resources() -> dict[str, dict]:
    """kind -> resource (one of each kind in deploy/k8s)."""
    resources = {}
    for path in K8S:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert doc["kind"] not in resources, f"two {doc['kind']} resources"
                resources[doc["kind"]] = doc
    return resources


def test_every_kubernetes_manifest_validates_against_the_kubernetes_schemas():
    assert {p.name for p in K8S} >= {"namespace.yaml", "configmap.yaml", "secret.yaml", "service.yaml",
                                     "statefulset.yaml", "pdb.yaml"}
    result = run(sys.executable, "-m", "kubernetes_validate", "--strict", "-k", KUBERNETES_VERSION,
                 *map(str, K8S))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(K8S), result.stdout


def test_kubernetes_validate_rejects_a_misspelled_field(tmp_path):
    broken = tmp_path / "pdb.yaml"
    broken.write_text((DEPLOY / "k8s" / "pdb.yaml").read_text().replace("maxUnavailable", "maxUnavailabel"))
    result = run(sys.executable, "-m", "kubernetes_validate", "--strict", "-k", KUBERNETES_VERSION, str(broken))
    assert result.returncode != 0
    assert "maxUnavailabel" in result.stdout + result.stderr


def test_every_churnwatch_variable_in_compose_and_kubernetes_is_a_setting_with_a_valid_value(compose):
    named: dict[str, dict[str, str]] = {}  # where -> {variable: value}
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        if service.get("image", "").startswith("churnwatch:"):
            named[f"compose {name}"] = env
        assert not [k for k in env if k.startswith(ENV_PREFIX)] or service["image"].startswith("churnwatch:")
    resources = k8s_resources()
    for kind in ("StatefulSet", "Job"):
        pod = resources[kind]["spec"]["template"]["spec"]
        for container in pod["containers"]:
            named[f"k8s {kind} {container['name']}"] = pod_env(resources, container)
    raw_text = COMPOSE.read_text() + "".join(p.read_text() for p in K8S)
    mentioned = set(re.findall(rf"\b{ENV_PREFIX}[A-Z0-9_]+", raw_text))

    unknown = mentioned - SETTING_VARIABLES
    assert not unknown, f"not Churnwatch settings: {sorted(unknown)}"
    for where, env in named.items():
        assert set(env) <= SETTING_VARIABLES, f"{where}: {sorted(set(env) - SETTING_VARIABLES)}"
        try:
            Settings.from_env({**dockerfile_env(), **env})
        except SettingsError as error:
            pytest.fail(f"{where}: {error}")


def pod_env(resources: dict[str, dict], container: dict) -> dict[str, str]:
    """The ConfigMap, then the container's own variables (valueFrom: the pod name, a Secret's key name)."""
    env = dict(resources["ConfigMap"]["data"])
    for var in container.get("env", []):
        source = var.get("valueFrom", {})
        env[var["name"]] = var["value"] if "value" in var else (
            source["secretKeyRef"]["key"] if "secretKeyRef" in source else "churnwatch-0")
    return env


def test_kubernetes_pods_run_the_production_profile_with_credentials_from_the_secret():
    resources = k8s_resources()
    secret = resources["Secret"]
    keys = set(secret["stringData"])
    for kind in ("StatefulSet", "Job"):
        pod = resources[kind]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        settings = Settings.from_env({**dockerfile_env(), **pod_env(resources, container)})
        assert (settings.profile, settings.security_protocol) == ("production", "SASL_SSL"), kind
        assert "CHURNWATCH_SASL_PASSWORD" not in pod_env(resources, container), "the password comes from a file"
        user = next(v for v in container["env"] if v["name"] == "CHURNWATCH_SASL_USERNAME")
        assert user["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": "username"}
        # The files the settings name are in the mounted Secret, readable by the pod's group.
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounted: dict[Path, str] = {}
        for mount in container["volumeMounts"]:
            source = volumes.get(mount["name"], {}).get("secret")  # "data" is a claim template
            if source is not None:
                assert source["secretName"] == secret["metadata"]["name"] and mount["readOnly"], kind
                assert source["defaultMode"] == 0o440 and pod["securityContext"]["fsGroup"] == 10001, kind
                mounted |= {Path(mount["mountPath"]) / item["path"]: item["key"] for item in source["items"]}
        for path in (settings.sasl_password_file, settings.ssl_cafile):
            assert path in mounted and mounted[path] in keys, f"{kind}: {path} is not a key of the mounted Secret"


def test_statefulset_probes_scrape_annotations_and_volume_match_the_worker_settings():
    resources = k8s_resources()
    sts = resources["StatefulSet"]
    pod = sts["spec"]["template"]
    container = pod["spec"]["containers"][0]
    settings = Settings.from_env({**dockerfile_env(), **pod_env(resources, container)})
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"web": settings.web_port, "metrics": settings.metrics_port}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/", "port": "web"}, probe
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == settings.metrics_port
    assert annotations["prometheus.io/path"] == "/metrics"

    assert settings.store == "rocksdb://"
    claim = sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim] == str(settings.data_dir)
    instance = next(v for v in container["env"] if v["name"] == "CHURNWATCH_GROUP_INSTANCE_ID")
    assert instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert pod["spec"]["terminationGracePeriodSeconds"] > settings.shutdown_timeout_seconds
    assert sts["spec"]["replicas"] <= settings.partitions, "workers beyond the partition count sit idle"

    selector = sts["spec"]["selector"]["matchLabels"]
    assert resources["Service"]["spec"]["clusterIP"] == "None"
    assert resources["Service"]["spec"]["selector"] == selector
    assert sts["spec"]["serviceName"] == resources["Service"]["metadata"]["name"]
    assert resources["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    namespaces = {r["metadata"].get("namespace") for kind, r in resources.items() if kind != "Namespace"}
    assert namespaces == {resources["Namespace"]["metadata"]["name"]}


def test_compose_prometheus_keeps_the_dashboards_longest_churn_window(compose):
    spec = importlib.util.spec_from_file_location("build_dashboard", DEPLOY / "grafana" / "build_dashboard.py")
    builder = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = builder  # dataclasses look their module up while the class is built
    spec.loader.exec_module(builder)
    days = {"d": 1, "w": 7}
    longest = max(int(w[:-1]) * days[w[-1]] for w in builder.CHURN_WINDOWS)
    (retention,) = [a.split("=", 1)[1] for a in compose["services"]["prometheus"]["command"]
                    if a.startswith("--storage.tsdb.retention.time=")]

    assert retention.endswith("d") and int(retention[:-1]) > longest, (retention, longest)
