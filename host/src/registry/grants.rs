//! `imports:` — what an entry grants, read as Wippy reads it. This is the catalogue of names
//! an entry may write (groups, their interfaces, and what each interface's functions need
//! from others); how each one is linked is the capabilities' business, and a test there checks
//! that both lists name the same interfaces.

use std::collections::BTreeSet;

use super::closest;

/// An interface by unversioned name, with the interfaces whose resources its functions use
/// (granted along with it: stdout hands out `wasi:io` streams).
pub struct Granted {
    pub name: &'static str,
    pub requires: &'static [&'static str],
}

const fn granted(name: &'static str, requires: &'static [&'static str]) -> Granted {
    Granted { name, requires }
}

/// Every group name that may appear in `imports:`, with its interfaces.
pub const CATALOGUE: &[(&str, &[Granted])] = &[
    (
        "wasi:io",
        &[
            granted("wasi:io/error", &[]),
            granted("wasi:io/streams", &["wasi:io/error", "wasi:io/poll"]),
        ],
    ),
    ("wasi:poll", &[granted("wasi:io/poll", &[])]),
    (
        "wasi:clocks",
        &[
            granted("wasi:clocks/wall-clock", &[]),
            granted("wasi:clocks/monotonic-clock", &["wasi:io/poll"]),
        ],
    ),
    (
        "wasi:cli",
        &[
            granted("wasi:cli/environment", &[]),
            granted("wasi:cli/exit", &[]),
            granted("wasi:cli/stdin", &["wasi:io/streams"]),
            granted("wasi:cli/stdout", &["wasi:io/streams"]),
            granted("wasi:cli/stderr", &["wasi:io/streams"]),
            granted("wasi:cli/terminal-input", &[]),
            granted("wasi:cli/terminal-output", &[]),
            granted("wasi:cli/terminal-stdin", &["wasi:cli/terminal-input"]),
            granted("wasi:cli/terminal-stdout", &["wasi:cli/terminal-output"]),
            granted("wasi:cli/terminal-stderr", &["wasi:cli/terminal-output"]),
        ],
    ),
    (
        "wasi:filesystem",
        &[
            granted(
                "wasi:filesystem/types",
                &["wasi:io/streams", "wasi:clocks/wall-clock"],
            ),
            granted("wasi:filesystem/preopens", &["wasi:filesystem/types"]),
        ],
    ),
    (
        "wasi:random",
        &[
            granted("wasi:random/random", &[]),
            granted("wasi:random/insecure", &[]),
            granted("wasi:random/insecure-seed", &[]),
        ],
    ),
    (
        "wasi:sockets",
        &[
            granted("wasi:sockets/network", &[]),
            granted("wasi:sockets/instance-network", &["wasi:sockets/network"]),
            granted(
                "wasi:sockets/tcp",
                &[
                    "wasi:sockets/network",
                    "wasi:io/streams",
                    "wasi:clocks/monotonic-clock",
                ],
            ),
            granted("wasi:sockets/tcp-create-socket", &["wasi:sockets/tcp"]),
            granted(
                "wasi:sockets/udp",
                &["wasi:sockets/network", "wasi:io/poll"],
            ),
            granted("wasi:sockets/udp-create-socket", &["wasi:sockets/udp"]),
            granted(
                "wasi:sockets/ip-name-lookup",
                &["wasi:sockets/network", "wasi:io/poll"],
            ),
        ],
    ),
    (
        "wasi:http",
        &[
            granted(
                "wasi:http/types",
                &["wasi:io/streams", "wasi:clocks/monotonic-clock"],
            ),
            granted("wasi:http/outgoing-handler", &["wasi:http/types"]),
        ],
    ),
    ("wippy:process", &[granted("wippy:process/host", &[])]),
    ("wippy:runtime", &[granted("wippy:runtime/funcs", &[])]),
];

/// The names `imports` may use for WASI preview 1 (core modules only).
pub const PREVIEW1_ALIASES: &[&str] = &[
    "wasi1",
    "wasi-preview1",
    "preview1",
    "wasi_snapshot_preview1",
];

/// Wippy's short name for `wippy:runtime`.
const FUNCS_ALIAS: &str = "funcs";

fn interfaces() -> impl Iterator<Item = (&'static str, &'static Granted)> {
    CATALOGUE
        .iter()
        .flat_map(|(group, interfaces)| interfaces.iter().map(move |i| (*group, i)))
}

fn find_interface(name: &str) -> Option<(&'static str, &'static Granted)> {
    interfaces().find(|(_, i)| i.name == name)
}

/// The group that grants an interface (`wasi:cli/stdout` → `wasi:cli`).
pub fn group_of(interface: &str) -> Option<&'static str> {
    find_interface(unversioned(interface)).map(|(group, _)| group)
}

/// `wasi:cli/stdout@0.2.6` → `wasi:cli/stdout`.
pub fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(name, _)| name)
}

/// The interfaces one entry may use: those its `imports` name, and those they require; and
/// whether a core module may use WASI preview 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    interfaces: BTreeSet<&'static str>,
    preview1: bool,
}

impl Grants {
    /// Parses `imports:` as Wippy normalizes it: names are case-insensitive and may carry an
    /// `@version`; `funcs` names `wippy:runtime`; `wasi1`, `wasi-preview1`, `preview1` and
    /// `wasi_snapshot_preview1` grant WASI preview 1 to core modules. Each item is a group
    /// (`wasi:cli`) or a single interface (`wasi:cli/stdout`). The error names the unknown
    /// item and lists what exists.
    pub fn parse(imports: &[String]) -> Result<Self, String> {
        let mut pending: Vec<&'static str> = Vec::new();
        let mut preview1 = false;
        for item in imports {
            let lowered = item.trim().to_lowercase();
            let name = match unversioned(&lowered) {
                FUNCS_ALIAS => "wippy:runtime",
                other => other,
            };
            if PREVIEW1_ALIASES.contains(&name) {
                preview1 = true;
            } else if let Some((_, members)) = CATALOGUE.iter().find(|(group, _)| *group == name) {
                pending.extend(members.iter().map(|i| i.name));
            } else if let Some((_, interface)) = find_interface(name) {
                pending.push(interface.name);
            } else {
                let mut known: Vec<&str> = CATALOGUE.iter().map(|(group, _)| *group).collect();
                let groups = known.join(", ");
                known.extend(interfaces().map(|(_, i)| i.name));
                known.extend(PREVIEW1_ALIASES);
                known.push(FUNCS_ALIAS);
                let hint = match closest(name, &known) {
                    Some(near) => format!("did you mean `{near}`? "),
                    None => String::new(),
                };
                return Err(format!(
                    "unknown capability `{item}`; {hint}the groups are {groups} (and `wasi1` for core modules), or name a single interface such as `wasi:cli/stdout`"
                ));
            }
        }
        let mut interfaces = BTreeSet::new();
        while let Some(name) = pending.pop() {
            if interfaces.insert(name) {
                let (_, interface) =
                    find_interface(name).expect("requirements name known interfaces");
                pending.extend(interface.requires);
            }
        }
        Ok(Self {
            interfaces,
            preview1,
        })
    }

    pub fn allows(&self, interface: &str) -> bool {
        self.interfaces.contains(unversioned(interface))
    }

    /// Whether a core module may import `wasi_snapshot_preview1`.
    pub fn allows_preview1(&self) -> bool {
        self.preview1
    }

    /// A granted interface that only components can use, if any.
    pub fn component_interface(&self) -> Option<&'static str> {
        self.interfaces.iter().next().copied()
    }
}

/// Every interface name in the catalogue, for the capabilities' completeness check.
pub fn catalogued() -> impl Iterator<Item = &'static str> {
    interfaces().map(|(_, i)| i.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(items: &[&str]) -> Grants {
        Grants::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn groups_grant_their_interfaces_and_what_they_require() {
        let cli = grants(&["wasi:cli"]);
        assert!(cli.allows("wasi:cli/environment@0.2.6"));
        assert!(cli.allows("wasi:io/streams"), "stdout hands out streams");
        assert!(!cli.allows("wasi:http/types"));
        assert!(!cli.allows("wasi:filesystem/types"));
        let stdout = grants(&["wasi:cli/stdout"]);
        assert!(stdout.allows("wasi:cli/stdout@0.2.0"));
        assert!(!stdout.allows("wasi:cli/stderr"));
        let http = grants(&["wasi:http"]);
        assert!(http.allows("wasi:http/outgoing-handler") && http.allows("wasi:io/poll"));
        assert!(!http.allows("wasi:sockets/tcp"));
        assert_eq!(grants(&[]), Grants::default());
    }

    #[test]
    fn unknown_capabilities_are_refused_with_the_list() {
        let err = Grants::parse(&["wasi:htp".to_string()]).unwrap_err();
        assert!(
            err.starts_with(
                "unknown capability `wasi:htp`; did you mean `wasi:http`? the groups are wasi:io, wasi:poll"
            ),
            "{err}"
        );
        assert!(Grants::parse(&["wasi:cli/nope".to_string()]).is_err());
        assert!(Grants::parse(&["wasi:filesystemz".to_string()]).is_err());
    }

    #[test]
    fn names_are_normalized_as_wippy_does() {
        assert_eq!(grants(&["WASI:CLI"]), grants(&["wasi:cli"]));
        assert_eq!(grants(&["wasi:cli@0.2.3"]), grants(&["wasi:cli"]));
        assert_eq!(grants(&[" wasi:io/poll@0.2.8 "]), grants(&["wasi:io/poll"]));
        assert_eq!(grants(&["funcs"]), grants(&["wippy:runtime"]));
        assert_eq!(
            grants(&["wippy:runtime/funcs@0.1.0"]),
            grants(&["wippy:runtime"])
        );
        for alias in [
            "wasi1",
            "wasi-preview1",
            "preview1",
            "wasi_snapshot_preview1",
            "WASI1@1",
        ] {
            let grants = grants(&[alias]);
            assert!(grants.allows_preview1(), "{alias}");
            assert_eq!(grants.component_interface(), None, "{alias}");
        }
        assert_eq!(
            grants(&["wasi1", "wasi:clocks"]).component_interface(),
            Some("wasi:clocks/monotonic-clock")
        );
    }

    #[test]
    fn every_requirement_is_a_known_interface() {
        for (_, interface) in interfaces() {
            for required in interface.requires {
                assert!(
                    find_interface(required).is_some(),
                    "{} requires unknown {required}",
                    interface.name
                );
            }
        }
    }
}
