//! `platform up` end to end, through the built binary: a small simulation with `--exit` (exit
//! code, report files, invariants, several shards), a second run that reuses the deployment,
//! a port in use, and a bad flag. Needs target/canisters (bash scripts/build-canisters.sh).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn require_canisters() {
    let wasm = repo().join("target/canisters/staking_hub_rollout.wasm.gz");
    assert!(
        wasm.exists(),
        "{} is missing: build the canisters first with `bash scripts/build-canisters.sh`",
        wasm.display()
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("platform-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `platform <args>` with a deadline (killed after it).
fn platform(args: &[&str], timeout: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_platform"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    // The real web app when it is built; without it only if it is missing.
    if !repo().join("frontend/dist").is_dir() {
        cmd.env("PLATFORM_NO_FRONTEND", "1");
    }
    let mut child = cmd.spawn().expect("starting target/debug/platform");
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "platform {args:?} did not finish within {} s\nstdout:\n{}\nstderr:\n{}",
                timeout.as_secs(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn hub_id(state: &Path) -> String {
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(state.join("deployment.json")).unwrap()).unwrap();
    saved["deployment"]["staking_hub"].as_str().expect("deployment.json names the hub").to_string()
}

#[test]
fn simulate_then_reuse_the_deployment() {
    require_canisters();
    let dir = temp_dir("simulate");
    let state = dir.join("state");
    let report = dir.join("report");
    let port_file = dir.join("port");
    let out = platform(
        &[
            "up",
            "--port",
            "0",
            "--port-file",
            port_file.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--simulate",
            "60",
            "--days",
            "2",
            "--exit",
            "--report-dir",
            report.to_str().unwrap(),
            "--shard-soft-limit",
            "20",
        ],
        Duration::from_secs(600),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!port_file.exists(), "the port file is removed at exit");

    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    let invariants = json["invariants"].as_array().expect("invariants");
    assert!(invariants.len() >= 6, "{invariants:?}");
    for i in invariants {
        assert_eq!(i["holds"], serde_json::Value::Bool(true), "invariant does not hold: {i}");
    }
    assert!(json["shards"].as_array().unwrap().len() >= 2, "the hub scaled out: {}", json["shards"]);
    assert_eq!(json["learners"], 60);
    assert!(json["quizzes"]["daily_limit_refusals"].as_u64().unwrap() > 0, "{}", json["quizzes"]);
    let outcomes: Vec<&str> = json["governance"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.len() >= 5 && outcomes.iter().all(|o| *o == "Executed"), "{outcomes:?}");
    // The scaling curve, sampled while the learners registered: from before the first to after
    // the last registration, the hub creating shards by itself on the way (soft limit 20).
    let scaling = json["scaling"].as_array().expect("scaling");
    assert!(scaling.len() >= 3, "{scaling:?}");
    let learners: Vec<u64> = scaling.iter().map(|p| p["learners"].as_u64().unwrap()).collect();
    assert!(learners.windows(2).all(|w| w[0] <= w[1]), "learners decrease: {learners:?}");
    assert_eq!(*learners.last().unwrap(), 60, "{learners:?}");
    let last = scaling.last().unwrap();
    assert!(last["shards"].as_u64().unwrap() >= 2, "{last}");
    assert!(last["active_shards"].as_u64().unwrap() <= last["shards"].as_u64().unwrap(), "{last}");
    assert_eq!((json["shard_soft_limit"].as_u64(), json["shard_hard_limit"].as_u64()), (Some(20), Some(25)));
    assert!(report.join("scaling.svg").exists());
    assert!(report.join("report.md").exists());
    let svgs = std::fs::read_dir(&report).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "svg")).count();
    assert!(svgs >= 1, "no SVG chart in {}", report.display());

    // Again on the same state dir: the network is loaded and the deployment reused.
    let hub = hub_id(&state);
    let out = platform(&["up", "--port", "0", "--state-dir", state.to_str().unwrap(), "--exit"], Duration::from_secs(300));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("reusing the deployment"), "{stderr}");
    assert!(!stderr.contains("deploying the platform"), "{stderr}");
    assert_eq!(hub_id(&state), hub);
    assert!(stdout.contains(&hub), "{stdout}");

    // Served again: the network's clock is the simulated days ahead of the wall clock, and a
    // client that takes its time from the computer's clock (ic-agent's default expiry) still
    // gets its calls through, verified.
    let port_file = dir.join("port-serve");
    let mut serving = Command::new(env!("CARGO_BIN_EXE_platform"))
        .args(["up", "--port", "0", "--port-file", port_file.to_str().unwrap(), "--state-dir", state.to_str().unwrap()])
        .env("PLATFORM_NO_FRONTEND", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let port: u16 = loop {
        if let Some(p) = std::fs::read_to_string(&port_file).ok().and_then(|t| t.trim().parse().ok()) {
            break p;
        }
        assert!(Instant::now() < deadline, "no port file from the serving run");
        assert!(serving.try_wait().unwrap().is_none(), "the serving run exited");
        std::thread::sleep(Duration::from_millis(100));
    };
    let root_key = std::fs::read(state.join("network/root_key.der")).expect("the network's root key");
    let outcome = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let agent = ic_agent::Agent::builder()
            .with_url(format!("http://127.0.0.1:{port}"))
            .with_identity(ic_agent::identity::BasicIdentity::from_raw_key(&[7; 32]))
            .build()
            .unwrap();
        agent.set_root_key(root_key);
        let hub = candid::Principal::from_text(&hub).unwrap();
        let stats = agent.query(&hub, "get_global_stats").with_arg(candid::encode_args(()).unwrap()).call().await?;
        let update = agent.update(&hub, "ensure_capacity").with_arg(candid::encode_args(()).unwrap()).call_and_wait().await?;
        Ok::<_, ic_agent::AgentError>((stats, update))
    });
    let _ = Command::new("kill").args(["-TERM", &serving.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while serving.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = serving.kill();
    let (stats, update) = outcome.expect("a wall-clock client's query and update after the simulated days");
    let stats: platform_types::GlobalStats = candid::decode_one(&stats).unwrap();
    assert_eq!(stats.users, 60);
    let _: Result<Option<candid::Principal>, String> = candid::decode_one(&update).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    require_canisters();
    let dir = temp_dir("port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = platform(&["up", "--port", &port, "--state-dir", dir.to_str().unwrap(), "--exit"], Duration::from_secs(60));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("port {port} is in use: pass --port")), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(taken);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_flag_exits_2() {
    let out = platform(&["up", "--no-such-flag"], Duration::from_secs(30));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
    let out = platform(&["up", "--simulate", "many"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2));
}
