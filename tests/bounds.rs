//! Queues and buffers a guest fills are bounded: a flood fails where it starts, with an error
//! the sender can act on, and nothing already queued is lost.

mod support;

use support::Project;

#[test]
fn a_full_mailbox_refuses_the_next_message_and_keeps_the_rest() {
    let project = Project::new();
    project.write(
        "src/app.yaml",
        r#"namespace: app
entries:
  - {name: processes, kind: process.host, host: {max_mailbox_messages: 1000}}
  - name: slow
    kind: process.lua
    modules: [time]
    source: |
      time.sleep("300ms")
      local count = 0
      while process.receive("100ms") do count = count + 1 end
      return count
  - name: main
    kind: process.lua
    meta: {command: {name: main}}
    source: |
      local pid = process.spawn_monitored("app:slow", "app:processes")
      for i = 1, 1500 do
        local ok, err = process.send(pid, "note", i)
        if not ok then
          print(i, err:kind(), err:retryable(), string.find(err, "is full: 1000 messages wait unread", 1, true) ~= nil)
          break
        end
      end
      print("the receiver read", process.receive("10s").value)
"#,
    );
    assert_eq!(
        project.wippy(&["run", "main"]).ok(),
        "1001\tRateLimited\ttrue\ttrue\nthe receiver read\t1000\n"
    );
    // Zero is refused where it is written.
    project.write(
        "src/app.yaml",
        "namespace: app\nentries:\n  - {name: processes, kind: process.host, host: {max_mailbox_messages: 0}}\n",
    );
    let err = project.wippy(&["check"]).failed().to_string();
    assert!(
        err.contains("field `host.max_mailbox_messages`: `0` would let no message reach a process. Give a positive number"),
        "{err}"
    );
}
