//! The cost model's arithmetic: cycles from the coefficients, characters
//! per second from the clock.

use charm_boards::{
    Cell, CharCost, Element, Misfit, StackedCost, StackedShape, BOARDS, ESP32C3, MICROBIT, RP2350,
};

#[test]
fn cycles_are_the_four_terms() {
    let cost = CharCost {
        mac_millicycles: 1_500,
        hidden_cycles: 80,
        vocab_cycles: 130,
        fixed_cycles: 300,
    };
    // H 128, V 65: 128·193 = 24,704 MACs · 1.5 = 37,056; + 128·80 + 65·130 + 300.
    assert_eq!(cost.cycles(128, 65), 37_056 + 10_240 + 8_450 + 300);
    // Thousandths round up: 1 MAC at 1.5 cycles is 2.
    assert_eq!(cost.cycles(1, 0), 2 + 80 + 300);
}

#[test]
fn chars_per_second_is_the_clock_over_the_cycles() {
    for b in [RP2350, ESP32C3] {
        let cycles = b.core.speed.of(Element::Int8).cycles(128, 65);
        let expected = f64::from(b.clock_hz.unwrap()) / cycles as f64;
        assert_eq!(b.chars_per_second(128, 65, Element::Int8), Some(expected));
    }
}

#[test]
fn every_board_a_user_flashes_has_a_clock() {
    for b in BOARDS {
        assert_eq!(
            b.clock_hz.is_some(),
            b.qemu.is_none() || b.name == "microbit",
            "{}",
            b.name
        );
    }
    assert_eq!(RP2350.clock_hz, Some(150_000_000));
    assert_eq!(ESP32C3.clock_hz, Some(160_000_000));
}

#[test]
fn int8_is_faster_than_f32_on_every_core() {
    for b in BOARDS {
        let speed = b.core.speed;
        for (h, v) in [(32, 24), (128, 65), (512, 1024)] {
            assert!(
                speed.of(Element::Int8).cycles(h, v) < speed.of(Element::F32).cycles(h, v),
                "{} H {h} V {v}",
                b.core.name
            );
        }
    }
}

#[test]
fn stacked_cycles_are_the_six_terms() {
    let cost = StackedCost {
        mac_millicycles: 6_500,
        row_cycles: 40,
        sigmoid_cycles: 90,
        tanh_cycles: 110,
        output_mac_millicycles: 3_900,
        vocab_cycles: 120,
        fixed_cycles: 700,
    };
    // An LSTM of 2 layers, H 128, V 65: (2·2 − 1)·4·128 = 1,536 dot
    // products of 128 MACs (196,608 · 6.5 = 1,277,952 cycles), 3·2·128 =
    // 768 sigmoids and 2·2·128 = 512 tanh, 65·128 = 8,320 output MACs
    // (· 3.9 = 32,448).
    let lstm = StackedShape {
        cell: Cell::Lstm,
        layers: 2,
        hidden: 128,
        vocab: 65,
    };
    assert_eq!(
        cost.cycles(&lstm),
        1_277_952 + 1_536 * 40 + 768 * 90 + 512 * 110 + 32_448 + 65 * 120 + 700
    );
    assert_eq!(lstm.state_values(), 2 * 2 * 128);
    // One rnn layer: H dot products, H tanh, no sigmoid.
    let rnn = StackedShape {
        cell: Cell::Rnn,
        layers: 1,
        hidden: 10,
        vocab: 3,
    };
    // 100 MACs · 6.5 = 650; 30 output MACs · 3.9 = 117.
    assert_eq!(
        cost.cycles(&rnn),
        650 + 10 * 40 + 10 * 110 + 117 + 3 * 120 + 700
    );
    // No overflow, whatever the shape.
    let huge = StackedShape {
        cell: Cell::Lstm,
        layers: u32::MAX,
        hidden: u32::MAX,
        vocab: u32::MAX,
    };
    assert_eq!(cost.cycles(&huge), u64::MAX);
    assert_eq!(
        charm_boards::stacked_state_bytes_as(&huge, charm_boards::StateLayout::F32),
        u64::MAX
    );
}

#[test]
fn stacked_models_fit_by_their_state_and_file() {
    let gru = |layers, hidden| StackedShape {
        cell: Cell::Gru,
        layers,
        hidden,
        vocab: 65,
    };
    // 4 GRU layers of H 128 carry 512 values; 4 LSTM layers of H 512, 4,096
    // (as f32): the cells build's buffers (6,144 values) hold both.
    assert_eq!(RP2350.fits_stacked(&gru(4, 128), 1_000_000), Ok(()));
    let lstm = |hidden| StackedShape {
        cell: Cell::Lstm,
        layers: 4,
        hidden,
        vocab: 65,
    };
    assert_eq!(RP2350.fits_stacked(&lstm(512), 1_000_000), Ok(()));
    // An LSTM of 4 layers of H 65 (520 values) is over the micro:bit's 256.
    let lstm = lstm(65);
    assert_eq!(
        MICROBIT.fits_stacked(&lstm, 1_000),
        Err(Misfit::State {
            values: 520,
            max: 256
        })
    );
    assert_eq!(
        Misfit::State {
            values: 520,
            max: 256
        }
        .to_string(),
        "520 state values > the 256 the state buffers hold"
    );
    // H over capacity and the file over the region, as for one tanh layer.
    assert_eq!(
        RP2350.fits_stacked(&gru(1, 513), 1_000),
        Err(Misfit::Hidden {
            hidden: 513,
            max: 512
        })
    );
    let region = u64::from(ESP32C3.weights_bytes);
    assert_eq!(
        ESP32C3.fits_stacked(&gru(1, 128), region + 1),
        Err(Misfit::Flash {
            bytes: region + 1,
            region: ESP32C3.weights_bytes
        })
    );
    // The micro:bit's buffers hold 256 values: 2 GRU layers of H 128.
    assert_eq!(MICROBIT.fits_stacked(&gru(2, 128), 100_000), Ok(()));
    assert!(MICROBIT.fits_stacked(&gru(3, 128), 100_000).is_err());
    // RAM: state and next state, f32, and V logits.
    assert_eq!(
        charm_boards::stacked_state_bytes_as(&lstm, charm_boards::StateLayout::F32),
        2 * 4 * 520 + 4 * 65
    );
}

/// The int8 forms keep their state as the firmware's `state_len` counts
/// it: row pairs in Q15 over H rounded up to 8 (an LSTM's f32 c in two
/// slots a unit: 3 a unit), tiles in int8 over H rounded up to 16 (an
/// LSTM: 5), each against the cells build's buffer of its type
/// (`max_state` values); tiles need Helium.
#[test]
fn stacked_int8_models_fit_by_their_int8_state() {
    use charm_boards::{StateLayout, MPS3_AN547};
    let lstm = |layers, hidden| StackedShape {
        cell: Cell::Lstm,
        layers,
        hidden,
        vocab: 65,
    };
    let gru = StackedShape {
        cell: Cell::Gru,
        ..lstm(2, 65)
    };
    // H 65: S = 72, T = 80.
    assert_eq!(gru.state_values_as(StateLayout::F32), 2 * 65);
    assert_eq!(gru.state_values_as(StateLayout::Int8RowPairs), 2 * 72);
    assert_eq!(gru.state_values_as(StateLayout::Int8Tiles), 2 * 80);
    assert_eq!(
        lstm(2, 65).state_values_as(StateLayout::Int8RowPairs),
        2 * 3 * 72
    );
    assert_eq!(
        lstm(2, 65).state_values_as(StateLayout::Int8Tiles),
        2 * 5 * 80
    );
    // 2 LSTM layers of H 64: 256 f32 values fit the micro:bit's 256, their
    // 384 Q15 values do not.
    assert_eq!(
        MICROBIT.fits_stacked_as(&lstm(2, 64), StateLayout::F32, 1_000),
        Ok(())
    );
    assert_eq!(
        MICROBIT.fits_stacked_as(&lstm(2, 64), StateLayout::Int8RowPairs, 1_000),
        Err(Misfit::State {
            values: 384,
            max: 256
        })
    );
    // Tiles: only on the Cortex-M55.
    assert_eq!(
        RP2350.fits_stacked_as(&gru, StateLayout::Int8Tiles, 1_000),
        Err(Misfit::TilesWithoutHelium)
    );
    assert_eq!(
        MPS3_AN547.fits_stacked_as(&gru, StateLayout::Int8Tiles, 1_000),
        Ok(())
    );
    // RAM: state and next state of 2-byte Q15 values, and V f32 logits.
    assert_eq!(
        charm_boards::stacked_state_bytes_as(&lstm(2, 65), StateLayout::Int8RowPairs),
        2 * 2 * (2 * 3 * 72) + 4 * 65
    );
}

#[test]
fn stacked_chars_per_second_is_the_clock_over_each_elements_cost() {
    let shape = StackedShape {
        cell: Cell::Gru,
        layers: 1,
        hidden: 128,
        vocab: 65,
    };
    for b in BOARDS {
        for (element, cost) in [
            (Element::F32, Some(b.core.cells_speed.f32)),
            (Element::Int8, b.core.cells_speed.int8),
        ] {
            let rate = b.stacked_chars_per_second(&shape, element);
            match (b.clock_hz, cost) {
                (Some(hz), Some(cost)) => {
                    let cycles = cost.cycles(&shape);
                    assert_eq!(rate, Some(f64::from(hz) / cycles as f64), "{}", b.name);
                }
                _ => assert_eq!(rate, None, "{}", b.name),
            }
        }
    }
}

#[test]
fn every_core_has_a_fitted_cells_cost() {
    // A GRU costs more than one tanh layer of the same H on every core, and
    // an LSTM more than a GRU, in f32 and in int8; and int8 less than f32.
    for b in BOARDS {
        let cost = b.core.cells_speed.f32;
        let shape = |cell| StackedShape {
            cell,
            layers: 1,
            hidden: 128,
            vocab: 65,
        };
        let (rnn, gru, lstm) = (
            cost.cycles(&shape(Cell::Rnn)),
            cost.cycles(&shape(Cell::Gru)),
            cost.cycles(&shape(Cell::Lstm)),
        );
        assert!(rnn > 0 && rnn < gru && gru < lstm, "{}", b.core.name);
        let vanilla = b.core.speed.of(Element::F32).cycles(128, 65);
        assert!(gru > vanilla, "{}", b.core.name);
        let Some(int8) = b.core.cells_speed.int8 else {
            continue;
        };
        let (rnn8, gru8, lstm8) = (
            int8.cycles(&shape(Cell::Rnn)),
            int8.cycles(&shape(Cell::Gru)),
            int8.cycles(&shape(Cell::Lstm)),
        );
        assert!(rnn8 > 0 && rnn8 < gru8 && gru8 < lstm8, "{}", b.core.name);
        assert!(gru8 < gru && lstm8 < lstm, "{}", b.core.name);
        let vanilla8 = b.core.speed.of(Element::Int8).cycles(128, 65);
        assert!(gru8 > vanilla8, "{}", b.core.name);
    }
}
