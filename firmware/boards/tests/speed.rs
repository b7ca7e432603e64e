//! The cost model's arithmetic: cycles from the coefficients, characters
//! per second from the clock.

use charm_boards::{CharCost, Element, BOARDS, ESP32C3, RP2350};

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
