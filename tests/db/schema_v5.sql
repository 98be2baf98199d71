-- Test fixture: db/schema.sql as it was at schema version 5 (until samples.minor_faults and
-- network_samples.minor_faults), verbatim, so that tests/db/schema_migration_test.cpp can build the
-- databases version 6 migrates.
-- layerjoule measurement store, schema version 5 (db/schema_migration.h kSchemaVersion).
-- Column names are a public contract: notebooks and outside tools read them. Units are in the
-- names (_s seconds, _j joules, _w watts). Timestamps are ISO-8601 UTC text, e.g.
-- 2025-04-28T12:34:56.789Z. JSON columns hold text that json_valid() accepts.
-- Embedded into lj_db at build time (db/CMakeLists.txt) and applied with CREATE ... IF NOT EXISTS
-- on every open, so this file must stay idempotent. New tables, views and indexes can be added
-- here as they are; any other change (a new or changed column, a new constraint) needs a new
-- schema version (db/schema_migration.h kSchemaVersion) and a migration in
-- db/schema_migration.cpp, tested on a database of the older version (tests/db/).

CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT
);

-- One row per distinct description of a machine and its software (UpsertHost deduplicates).
CREATE TABLE IF NOT EXISTS hosts (
  id            INTEGER PRIMARY KEY,
  hostname      TEXT    NOT NULL,
  cpu_model     TEXT    NOT NULL DEFAULT '',
  sockets       INTEGER NOT NULL DEFAULT 0,
  cores         INTEGER NOT NULL DEFAULT 0,   -- physical cores in total
  threads_used  INTEGER NOT NULL DEFAULT 0,   -- intra-op threads given to LibTorch
  torch_version TEXT    NOT NULL DEFAULT '',
  blas          TEXT    NOT NULL DEFAULT '',
  rapl_domains  TEXT    NOT NULL DEFAULT '',  -- e.g. 'package-0,dram-0'; '' without a meter
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (hostname, cpu_model, sockets, cores, threads_used, torch_version, blas, rapl_domains)
);

-- One invocation of measure (random configs, a sweep, a network run) or one imported file.
CREATE TABLE IF NOT EXISTS runs (
  id           INTEGER PRIMARY KEY,
  host_id      INTEGER NOT NULL REFERENCES hosts(id),
  command_line TEXT    NOT NULL DEFAULT '',
  seed         INTEGER NOT NULL DEFAULT 0,    -- uint64 stored as its two's-complement int64
  kind         TEXT    NOT NULL               -- db/vocabulary.h RunKind
               CHECK (kind IN ('random', 'near', 'sweep', 'import', 'network', 'net-layers')),
  layer        TEXT    NOT NULL DEFAULT '',   -- 'conv2d', 'maxpool2d', 'linear'; '' for networks
  -- What the run measured or imported, as JSON text: the bounds file (random), the sweep file
  -- (sweep), {"bounds", "near_share", "near"} (near), the net.json text or a TorchScript
  -- summary (network, net-layers), or the imported file's name and content hash (import, and
  -- network runs imported from the prototype).
  -- Schema version 1 called it bounds_json.
  source_json  TEXT    NOT NULL DEFAULT '',
  target_n     INTEGER NOT NULL DEFAULT 0,    -- configs wanted: random/near (this shard's), sweep points, iterations
  meter        TEXT    NOT NULL DEFAULT '',   -- 'rapl', 'none', or an import source ('pyrapl')
  status       TEXT    NOT NULL DEFAULT 'running'
               CHECK (status IN ('running', 'interrupted', 'finished', 'failed')),
  min_time_s   REAL    NOT NULL DEFAULT 0,
  trials       INTEGER NOT NULL DEFAULT 0,
  started_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  ended_at     TEXT,                          -- NULL while running
  -- Schema 4: a random UUID (v4, lower-case hex with dashes) given when the run is created, so
  -- that merged databases keep one copy of a run (measure --merge). Runs of older files get
  -- 'legacy-<hostname>-<started_at>-<seed>-<kind>' when migrated, the same in every copy.
  uuid         TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_uuid ON runs (uuid);

-- Options of a run that change its config stream but have no column of their own in runs,
-- e.g. 'max_memory_bytes' (measure --max-memory): a resume samples with the stored value and
-- refuses a different one (issue 11). Values are text as the option was given (doubles in
-- "%.17g"). Databases written before this table have no rows here for their runs.
CREATE TABLE IF NOT EXISTS run_options (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name   TEXT    NOT NULL CHECK (name <> ''),
  value  TEXT    NOT NULL,
  PRIMARY KEY (run_id, name)
);

-- One pass of one layer config: means per single execution of the layer on the whole batch.
CREATE TABLE IF NOT EXISTS samples (
  id                 INTEGER PRIMARY KEY,
  run_id             INTEGER NOT NULL REFERENCES runs(id),
  sample_index       INTEGER NOT NULL CHECK (sample_index >= 0),  -- index in the run's seed stream
  layer              TEXT    NOT NULL CHECK (layer <> ''),  -- a core LayerType name (core/layer_config.h)
  pass               TEXT    NOT NULL CHECK (pass IN ('forward', 'backward')),
  config             TEXT    NOT NULL CHECK (json_valid(config)),  -- torch.nn field names
  repetitions        INTEGER NOT NULL CHECK (repetitions > 0),     -- executions per trial
  trials             INTEGER NOT NULL CHECK (trials > 0),
  time_s             REAL    NOT NULL CHECK (time_s > 0),
  time_std_s         REAL    NOT NULL DEFAULT 0 CHECK (time_std_s >= 0),
  energy_j           REAL    CHECK (energy_j IS NULL OR energy_j >= 0),  -- package, all sockets
  energy_std_j       REAL    CHECK (energy_std_j IS NULL OR energy_std_j >= 0),
  energy_by_socket_j TEXT    CHECK (energy_by_socket_j IS NULL OR json_valid(energy_by_socket_j)),
  dram_energy_j      REAL    CHECK (dram_energy_j IS NULL OR dram_energy_j >= 0),
  psys_energy_j      REAL    CHECK (psys_energy_j IS NULL OR psys_energy_j >= 0),
  idle_power_w       REAL    CHECK (idle_power_w IS NULL OR idle_power_w >= 0),
  meter              TEXT    NOT NULL,
  sweep              TEXT,   -- sweep name for one-factor sweeps, else NULL
  sweep_value        REAL,   -- value of the varied parameter
  notes              TEXT,   -- e.g. what an imported backward pass covers
  created_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  -- Tensor memory of one execution of the pass, c10 allocations counted (oneDNN's buffers
  -- included; measure/tensor_memory.h), bytes above what was allocated before it: the peak
  -- (forward: output, saved tensors and transients; backward: gradients and transients).
  -- NULL in rows of schema 3 and before and in imported rows.
  peak_memory_bytes  INTEGER CHECK (peak_memory_bytes IS NULL OR peak_memory_bytes >= 0),
  -- Forward rows: what the forward leaves allocated while only its graph is kept, the
  -- activation memory autograd keeps for backward beyond the layer's inputs and weights
  -- (measure/layer_runner.h MeasuredLayerMemory). NULL on backward rows.
  saved_bytes        INTEGER CHECK (saved_bytes IS NULL OR saved_bytes >= 0),
  -- Conditions of the trials (measure/sample_conditions.h): other processes' (and, in a VM,
  -- the hypervisor's steal) share of all cores' time in [0, 1], the hottest CPU package sensor
  -- before and after them in degrees Celsius, and 1 when the share stayed above measure's
  -- --max-contention after re-measurement (fit leaves those rows out). NULL where not known.
  contention_share    REAL CHECK (contention_share IS NULL OR
                                  (contention_share >= 0 AND contention_share <= 1)),
  temperature_start_c REAL,
  temperature_end_c   REAL,
  contended           INTEGER CHECK (contended IS NULL OR contended IN (0, 1))
);
CREATE INDEX IF NOT EXISTS samples_run_index ON samples (run_id, sample_index);
-- One row per pass of a sample: two processes resuming the same run cannot both store it
-- (issue 11). A database written before this index that holds such duplicates still opens
-- read-only (fit, predict, evaluate); opening it for writing names the constraint.
CREATE UNIQUE INDEX IF NOT EXISTS samples_one_per_pass ON samples (run_id, sample_index, pass);
CREATE INDEX IF NOT EXISTS samples_layer_pass ON samples (layer, pass);

-- A config that threw while being built or run; the run went on.
CREATE TABLE IF NOT EXISTS failures (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id),
  sample_index INTEGER NOT NULL,
  layer        TEXT    NOT NULL,
  config       TEXT    NOT NULL,  -- JSON text
  error        TEXT    NOT NULL,
  created_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS failures_run_index ON failures (run_id, sample_index);

-- Idle power readings taken at run start and periodically.
CREATE TABLE IF NOT EXISTS idle_power (
  id              INTEGER PRIMARY KEY,
  run_id          INTEGER NOT NULL REFERENCES runs(id),
  measured_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  duration_s      REAL    NOT NULL CHECK (duration_s >= 0),
  package_power_w REAL    NOT NULL CHECK (package_power_w >= 0),  -- summed over sockets
  dram_power_w    REAL    CHECK (dram_power_w IS NULL OR dram_power_w >= 0),
  by_socket_w     TEXT    CHECK (by_socket_w IS NULL OR json_valid(by_socket_w))
);
CREATE INDEX IF NOT EXISTS idle_power_run ON idle_power (run_id, measured_at);

-- Whole-network measurements (per phase of a training iteration), means per iteration.
CREATE TABLE IF NOT EXISTS network_samples (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id),
  network       TEXT    NOT NULL,
  batch_size    INTEGER NOT NULL CHECK (batch_size > 0),
  phase         TEXT    NOT NULL
                CHECK (phase IN ('forward', 'backward', 'optimizer', 'iteration', 'loss')),
  iteration     INTEGER NOT NULL CHECK (iteration >= 0),
  time_s        REAL    NOT NULL CHECK (time_s > 0),
  energy_j      REAL    CHECK (energy_j IS NULL OR energy_j >= 0),
  dram_energy_j REAL    CHECK (dram_energy_j IS NULL OR dram_energy_j >= 0),
  idle_power_w  REAL    CHECK (idle_power_w IS NULL OR idle_power_w >= 0),
  meter         TEXT    NOT NULL,
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  -- Schema 3, iteration rows only: the peak resident memory during the iteration above the
  -- process's resident memory before the network was built (Linux VmHWM, reset through
  -- /proc/self/clear_refs before the iteration; measure/peak_memory.h). NULL on phase rows and
  -- where the kernel offers no reset. Last, as
  -- ALTER TABLE ADD COLUMN puts it in a migrated file.
  peak_memory_bytes INTEGER CHECK (peak_memory_bytes IS NULL OR peak_memory_bytes >= 0)
);
CREATE INDEX IF NOT EXISTS network_samples_run ON network_samples (run_id, network, phase);

-- Schema 5: the machine's speed over time. The same fixed reference configs
-- (measure/speed_probe.h) measured at a run's start, every --probe-every seconds and at its
-- end; fit --drift-correction divides each sample's time by the speed at its created_at
-- (fit/drift_correction.h). All rows of one probe share run_id and measured_at.
CREATE TABLE IF NOT EXISTS speed_probes (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs(id),
  measured_at TEXT    NOT NULL,
  layer       TEXT    NOT NULL CHECK (layer <> ''),
  pass        TEXT    NOT NULL CHECK (pass IN ('forward', 'backward')),
  config      TEXT    NOT NULL CHECK (json_valid(config)),
  time_s      REAL    NOT NULL CHECK (time_s > 0),
  time_std_s  REAL    NOT NULL DEFAULT 0 CHECK (time_std_s >= 0)
);
CREATE INDEX IF NOT EXISTS speed_probes_run ON speed_probes (run_id, measured_at);

-- Samples with the machine they were measured on, for notebooks.
CREATE VIEW IF NOT EXISTS samples_with_host AS
  SELECT s.*, r.host_id AS host_id, h.hostname AS hostname, h.cpu_model AS cpu_model
  FROM samples AS s
  JOIN runs AS r ON r.id = s.run_id
  JOIN hosts AS h ON h.id = r.host_id;
