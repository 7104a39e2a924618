//! The agent plugin runs unchanged on a NATS stream: two `pathway
//! run-plugin` processes, standing in for two machines, share one stream
//! and each sees what the other remembered.

use crate::support as nats_support;

use std::process::{Command, Output};

use nats_support::{Server, open};
use pathway_host::AGENT_PLUGIN_PATH;

/// `pathway run-plugin --nats URL --stream NAME <agent plugin> -- NOTE`
fn run_plugin(url: &str, stream: &str, note: &str) -> Command {
    let mut command = Command::new(crate::common::pathway_bin());
    command
        .args(["run-plugin", "--nats", url, "--stream", stream])
        .arg(AGENT_PLUGIN_PATH)
        .arg("--")
        .arg(note)
        .env_remove("RUST_LOG");
    command
}

fn stdout(out: &Output) -> &str {
    assert!(
        out.status.success(),
        "pathway run-plugin failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::str::from_utf8(&out.stdout).unwrap()
}

#[test]
fn two_hosts_running_the_agent_plugin_share_its_memory_through_one_stream() {
    let server = Server::single("plugin");
    let url = server.url();
    open(&url, "agent", 1);

    let a = run_plugin(&url, "agent", "machine A met Ada")
        .output()
        .unwrap();
    assert_eq!(
        stdout(&a),
        "run 1: I remember nothing yet\n\
         remembered {\"run\":1,\"note\":\"machine A met Ada\"}\n"
    );
    let b = run_plugin(&url, "agent", "machine B met Grace")
        .output()
        .unwrap();
    assert_eq!(
        stdout(&b),
        "run 2: I remember 1 earlier run\n  \
         run 1: machine A met Ada\n\
         remembered {\"run\":2,\"note\":\"machine B met Grace\"}\n"
    );
    let a = run_plugin(&url, "agent", "machine A again")
        .output()
        .unwrap();
    assert_eq!(
        stdout(&a),
        "run 3: I remember 2 earlier runs\n  \
         run 1: machine A met Ada\n  \
         run 2: machine B met Grace\n\
         remembered {\"run\":3,\"note\":\"machine A again\"}\n"
    );
}

#[test]
fn two_hosts_at_once_both_land_and_a_third_sees_both() {
    let server = Server::single("plugin_at_once");
    let url = server.url();
    open(&url, "agent", 1);
    let spawn = |note: &str| {
        run_plugin(&url, "agent", note)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("A"), spawn("B"));
    for child in [a, b] {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    let c = run_plugin(&url, "agent", "C").output().unwrap();
    let said = stdout(&c);
    assert!(said.starts_with("run "), "{said}");
    assert!(said.contains(": A\n") && said.contains(": B\n"), "{said}");
}
