//! Each board's table entry agrees with its `memory.x`.

use charm_boards::BOARDS;

/// The LENGTH of region `name` in a memory.x, in bytes.
fn length(memory_x: &str, name: &str) -> u32 {
    let line = memory_x
        .lines()
        .find(|l| l.trim_start().starts_with(name) && l.contains("LENGTH"))
        .unwrap_or_else(|| panic!("no {name} region"));
    let value = line
        .split("LENGTH")
        .nth(1)
        .unwrap()
        .trim_start_matches([' ', '='])
        .trim();
    let (digits, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let n: u32 = digits.parse().unwrap();
    n * match unit.trim() {
        "K" => 1024,
        "M" => 1024 * 1024,
        "" => 1,
        u => panic!("unit {u}"),
    }
}

#[test]
fn regions_match_every_memory_x() {
    for b in BOARDS {
        let path = format!("{}/{}/memory.x", env!("CARGO_MANIFEST_DIR"), b.name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(length(&text, "WEIGHTS"), b.weights_bytes, "{}", b.name);
        assert_eq!(length(&text, "PARAMS"), b.params_bytes, "{}", b.name);
        assert_eq!(length(&text, "RAM"), b.ram_bytes, "{}", b.name);
        // The firmware's buffers and 16 KiB of stack fit the RAM.
        assert!(
            b.state_buffer_bytes() + 16 * 1024 <= b.ram_bytes,
            "{}",
            b.name
        );
    }
}

#[test]
fn state_bytes_follow_the_padded_layout() {
    // H 100 pads to 104: 2·104·4 + 4·65 = 1092 for f32; 2·104·2 + 260 = 676 for Q15.
    assert_eq!(charm_boards::state_bytes(100, 65, 4), 1092);
    assert_eq!(charm_boards::state_bytes(100, 65, 2), 676);
}
