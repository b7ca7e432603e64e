//! Each board's table entry agrees with its `memory.x`, and with the way
//! `scripts/build-firmware.sh` builds for it.

use charm_boards::{Board, Cell, Misfit, StackedShape, StateLayout, BOARDS, STACK_RESERVE};

/// The `ORIGIN` and `LENGTH` of region `name` in a memory.x, in bytes.
fn region(memory_x: &str, name: &str) -> (u32, u32) {
    let line = memory_x
        .lines()
        .find(|l| {
            let l = l.trim_start();
            l.starts_with(name) && l[name.len()..].trim_start().starts_with(':')
        })
        .unwrap_or_else(|| panic!("no {name} region"));
    let field = |key: &str| {
        line.split(key)
            .nth(1)
            .unwrap_or_else(|| panic!("no {key} in {line:?}"))
            .trim_start_matches([' ', '='])
            .split(',')
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    (number(&field("ORIGIN")), number(&field("LENGTH")))
}

/// `0x...`, or decimal with an optional `K` or `M`.
fn number(text: &str) -> u32 {
    if let Some(hex) = text.strip_prefix("0x") {
        return u32::from_str_radix(&hex.replace('_', ""), 16).unwrap();
    }
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u32 = digits.parse().unwrap();
    n * match unit.trim() {
        "K" => 1024,
        "M" => 1024 * 1024,
        "" => 1,
        u => panic!("unit {u}"),
    }
}

fn memory_x(b: &Board) -> String {
    let path = format!("{}/{}/memory.x", env!("CARGO_MANIFEST_DIR"), b.name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn regions_match_every_memory_x() {
    for b in BOARDS {
        let text = memory_x(b);
        assert_eq!(
            region(&text, "WEIGHTS"),
            (b.weights_address, b.weights_bytes),
            "{}",
            b.name
        );
        assert_eq!(
            region(&text, "PARAMS"),
            (b.params_address, b.params_bytes),
            "{}",
            b.name
        );
        assert_eq!(
            region(&text, "RAM"),
            (b.ram_address, b.ram_bytes),
            "{}",
            b.name
        );
    }
}

#[test]
fn capacity_follows_ram() {
    for b in BOARDS {
        // The firmware's buffers and the stack fit the RAM, in the default
        // build and the cells build.
        for buffers in [b.state_buffer_bytes(), b.cells_state_buffer_bytes()] {
            assert!(
                buffers + STACK_RESERVE <= b.ram_bytes,
                "{}: {buffers} + {STACK_RESERVE} > {}",
                b.name,
                b.ram_bytes
            );
        }
        // An int8 file holds H <= 512; no board promises more.
        assert!(b.max_hidden <= 512, "{}", b.name);
        // The cells build holds at least one layer of its max H.
        assert!(b.max_state >= b.max_hidden, "{}", b.name);
    }
    let microbit = charm_boards::board("microbit").unwrap();
    assert_eq!(microbit.state_buffer_bytes(), 7 * 1024);
    assert_eq!(microbit.cells_state_buffer_bytes(), 7 * 1024);
    // The Cortex-M55's default build has its int8 tiles' pair too:
    // 10 KiB + 2·512 bytes (`llvm-size -A` of its ELF: 11,264 of .bss).
    let m55 = charm_boards::board("mps3-an547").unwrap();
    assert_eq!(m55.state_buffer_bytes(), 11 * 1024);
}

#[test]
fn the_cells_build_holds_the_state_of_every_model_within_max_h() {
    // Every board but the micro:bit (16 KiB of RAM): 4 layers of the
    // board's max H, in every cell and every form its core runs.
    for b in BOARDS.iter().filter(|b| b.name != "microbit") {
        for cell in [Cell::Rnn, Cell::Gru, Cell::Lstm] {
            let shape = StackedShape {
                cell,
                layers: 4,
                hidden: b.max_hidden,
                vocab: b.max_vocab,
            };
            let mut layouts = vec![StateLayout::F32, StateLayout::Int8RowPairs];
            if b.core.int8_helium {
                layouts.push(StateLayout::Int8Tiles);
            }
            for layout in layouts {
                let values = shape.state_values_as(layout);
                assert!(
                    values <= u64::from(b.max_state),
                    "{}: {cell:?} {layout:?} {values} > {}",
                    b.name,
                    b.max_state
                );
                assert_eq!(b.fits_stacked_as(&shape, layout, 0), Ok(()), "{}", b.name);
            }
        }
    }
    // The largest: four LSTM layers of H 512 as tiles on the Cortex-M55,
    // as row pairs elsewhere.
    let m55 = charm_boards::board("mps3-an547").unwrap();
    assert_eq!(m55.max_state, 4 * 5 * 512);
    assert_eq!(m55.cells_state_buffer_bytes(), 4 * 1024 + 10_240 * 14);
    let pico = charm_boards::board("rp2040").unwrap();
    assert_eq!(pico.max_state, 4 * 3 * 512);
    assert_eq!(pico.cells_state_buffer_bytes(), 4 * 1024 + 6_144 * 12);
    // The micro:bit's cells build: one layer of H 256.
    let microbit = charm_boards::board("microbit").unwrap();
    let two = StackedShape {
        cell: Cell::Rnn,
        layers: 2,
        hidden: 129,
        vocab: 65,
    };
    assert_eq!(
        microbit.fits_stacked_as(&two, StateLayout::F32, 0),
        Err(Misfit::State {
            values: 258,
            max: 256
        })
    );
}

#[test]
fn names_are_unique_and_found() {
    for (i, b) in BOARDS.iter().enumerate() {
        assert_eq!(charm_boards::board(b.name), Some(b));
        assert!(BOARDS[..i].iter().all(|o| o.name != b.name));
    }
    assert_eq!(charm_boards::board("no-such-board"), None);
}

/// The `--board NAME` table of scripts/build-firmware.sh:
/// `NAME) target=T codegen="OPTION ..." qemu=Q ;;`.
fn build_script_entry(name: &str) -> (String, String) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/build-firmware.sh"
    );
    let script = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let line = script
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{name})")))
        .unwrap_or_else(|| panic!("build-firmware.sh has no entry for {name}"));
    let value = |key: &str| {
        let rest = line
            .split_once(key)
            .unwrap_or_else(|| panic!("{line:?}: no {key}"))
            .1;
        match rest.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or_default().to_string(),
            None => rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    };
    (value(" target="), value(" codegen="))
}

#[test]
fn build_script_builds_each_board_for_its_core() {
    for b in BOARDS {
        let (target, codegen) = build_script_entry(b.name);
        assert_eq!(target, b.core.rust_target, "{}", b.name);
        assert_eq!(codegen, b.core.codegen.join(" "), "{}", b.name);
    }
}

/// The features of `board-NAME` in firmware/Cargo.toml:
/// `board-NAME = ["FEATURE", ...]`.
fn board_features(name: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let manifest = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let line = manifest
        .lines()
        .find(|l| l.starts_with(&format!("board-{name} =")))
        .unwrap_or_else(|| panic!("firmware/Cargo.toml has no feature board-{name}"));
    let list = line
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'));
    list.map_or_else(Vec::new, |(inside, _)| {
        inside
            .split(',')
            .map(|f| f.trim().trim_matches('"').to_string())
            .filter(|f| !f.is_empty())
            .collect()
    })
}

#[test]
fn the_default_build_runs_fixed_int8_where_the_table_says() {
    for b in BOARDS {
        let features = board_features(b.name);
        assert_eq!(
            features.iter().any(|f| f == "fixed"),
            b.core.fixed_by_default,
            "{}: {features:?}",
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
