//! What a routing hook costs: an inbound message that opens a conversation
//! and runs a small routing hook, on the large synthetic tenant (target:
//! median under 10 µs); beside it the same message without the hook, and the
//! same routing written entirely as a rhai script with no compiled policy.
//!
//! cargo bench --bench hooks

#[path = "../tests/common/synth.rs"]
mod synth;
use chrono::{Duration, TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use rhai::{Dynamic, Map, Scope};
use switchboard::engine::{Engine, Event, State};
use synth::Size;

const HOOK: &str = r#"
// VIPs go to the least-loaded member; everyone else as the policy says.
fn route(ctx) {
    if ctx.customer.tier == "vip" {
        return #{ assign: "least_loaded", tags: ["vip"] };
    }
    ()
}
"#;

/// The synthetic tenant with the routing hook on every shared inbox.
fn hooked_tenant() -> (Engine, Engine) {
    let plain = synth::tenant(Size::LARGE);
    let hooked = format!(
        "{}\nhooks \"route.rhai\"\n",
        plain.replace("  claim must\n", "  claim must\n  hook routing route\n")
    );
    let files = std::collections::BTreeMap::from([("route.rhai".to_string(), HOOK.to_string())]);
    let with = switchboard::compile_sources(&hooked, &files).expect("hooked tenant checks");
    let without = switchboard::compile(&plain).expect("tenant checks");
    (Engine::new(with), Engine::new(without))
}

fn inbound(n: usize, numbers: &[String], tier: &str) -> Event {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap() + Duration::seconds(60);
    serde_json::from_value(serde_json::json!({
        "type": "inbound", "at": at.to_rfc3339(), "from": format!("+1628{:07}", n),
        "to": numbers[n % numbers.len()], "body": "Where is my order?",
        "customer": {"tier": tier, "status": "customer"}
    }))
    .unwrap()
}

/// The same routing as a rhai script alone: number → inbox, open hours,
/// who sees it, and the VIP rule, from maps handed to the script.
const SCRIPT_ONLY: &str = r#"
let name = numbers[to];
if name == () { return #{ outcome: "rejected" }; }
let inbox = inboxes[name];
let open = weekday in inbox.days && hour >= inbox.opens && hour < inbox.closes;
let result = #{ inbox: name, open: open, visible_to: inbox.members };
if tier == "vip" {
    let best = ();
    let fewest = 1000000;
    for m in inbox.members {
        let load = loads[m] ?? 0;
        if load < fewest { fewest = load; best = m; }
    }
    result.visible_to = [best];
    result.tags = ["vip"];
}
result
"#;

fn script_tables(engine: &Engine) -> (Map, Map) {
    let policy = engine.policy();
    let mut numbers = Map::new();
    for n in policy.numbers() {
        if let Some(i) = n.inbox {
            numbers.insert(
                n.number.as_str().into(),
                Dynamic::from(policy.inbox(i).name.to_string()),
            );
        }
    }
    let mut inboxes = Map::new();
    for inbox in policy.inboxes() {
        let mut m = Map::new();
        let members: rhai::Array = inbox
            .member_names
            .iter()
            .map(|n| Dynamic::from(n.to_string()))
            .collect();
        m.insert("members".into(), Dynamic::from_array(members));
        let days: rhai::Array = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| Dynamic::from(d.to_string()))
            .collect();
        m.insert("days".into(), Dynamic::from_array(days));
        m.insert("opens".into(), Dynamic::from(9_i64));
        m.insert("closes".into(), Dynamic::from(17_i64));
        inboxes.insert(inbox.name.as_str().into(), Dynamic::from_map(m));
    }
    (numbers, inboxes)
}

fn hooks(c: &mut Criterion) {
    let (hooked, plain) = hooked_tenant();
    let numbers = synth::shared_numbers(hooked.policy());
    let mut group = c.benchmark_group("hooks");

    // The hook really runs and assigns.
    let mut check = State::new();
    let d = hooked.step(&mut check, &inbound(0, &numbers, "vip"));
    assert_eq!(d.tags, vec!["vip"], "{:?}", d.explanation);
    assert_eq!(d.visible_to.len(), 1);

    for (name, engine, tier) in [
        ("inbound_new_conversation_with_routing_hook", &hooked, "vip"),
        (
            "inbound_new_conversation_hook_leaves_it_to_policy",
            &hooked,
            "standard",
        ),
        ("inbound_new_conversation_without_hook", &plain, "vip"),
    ] {
        let mut state = State::new();
        let mut n = 0usize;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    n += 1;
                    inbound(n, &numbers, tier)
                },
                |event| black_box(engine.step(&mut state, &event)),
                BatchSize::SmallInput,
            )
        });
    }

    // The whole routing in rhai, with the tables in the script's scope.
    let rhai_engine = switchboard::hooks::sandbox(&switchboard::hooks::Limits {
        max_operations: 10_000_000,
        max_array_size: 100_000,
        max_map_size: 100_000,
        ..Default::default()
    });
    let (number_map, inbox_map) = script_tables(&hooked);
    let mut scope = Scope::new();
    scope.push_constant("numbers", number_map);
    scope.push_constant("inboxes", inbox_map);
    scope.push_constant("loads", Map::new());
    scope.push_constant("weekday", "mon".to_string());
    scope.push_constant("hour", 10_i64);
    let mut declared = scope.clone();
    declared.push("to", String::new());
    declared.push("tier", String::new());
    let ast = rhai_engine
        .compile_with_scope(&declared, SCRIPT_ONLY)
        .unwrap();
    let mut n = 0usize;
    let result: Map = {
        let mut s = scope.clone();
        s.push("to", numbers[0].clone());
        s.push("tier", "vip".to_string());
        rhai_engine.eval_ast_with_scope(&mut s, &ast).unwrap()
    };
    assert!(result.contains_key("tags"));
    group.bench_function("routing_written_entirely_in_rhai", |b| {
        b.iter(|| {
            n += 1;
            let rewind = scope.len();
            scope.push("to", numbers[n % numbers.len()].clone());
            scope.push("tier", "vip".to_string());
            let out: Dynamic = rhai_engine.eval_ast_with_scope(&mut scope, &ast).unwrap();
            scope.rewind(rewind);
            black_box(out)
        })
    });
    group.finish();
}

criterion_group!(benches, hooks);
criterion_main!(benches);
