//! Sentences without core::fmt: numbers as `format!` prints them, characters
//! with their code points, and every error's `Display` its `Explain`.

use charm_core::{
    display_sentence, Explain, FormatError, GenerateError, SampleError, SentenceOut, ShapeError,
    StepError, VocabError,
};

struct Line(String);

impl SentenceOut for Line {
    fn text(&mut self, text: &str) {
        self.0.push_str(text);
    }
}

fn filled(template: &str, values: &[usize]) -> String {
    let mut line = Line(String::new());
    line.fill(template, values);
    line.0
}

fn explained(e: &dyn Explain) -> String {
    let mut line = Line(String::new());
    e.explain(&mut line);
    line.0
}

#[test]
fn numbers_as_format_prints_them() {
    for n in [
        0usize,
        1,
        9,
        10,
        11,
        99,
        100,
        101,
        65_535,
        4_294_967_295,
        usize::MAX,
    ] {
        assert_eq!(filled("{}", &[n]), format!("{n}"));
        assert_eq!(filled("{x}", &[n]), format!("{:08x}", n as u32));
    }
    assert_eq!(filled("{x}", &[0xCBF4_3926]), "cbf43926");
    assert_eq!(filled("{x}", &[0xFF000]), "000ff000");
}

#[test]
fn templates_fill_in_order_and_keep_other_braces() {
    assert_eq!(filled("a {} b {} c", &[1, 22]), "a 1 b 22 c");
    assert_eq!(filled("{}{}", &[3, 4]), "34");
    assert_eq!(filled("{y} {", &[5]), "{y} {");
    assert_eq!(filled("no {} value {}", &[7]), "no 7 value ");
    assert_eq!(filled("é {} ü", &[8]), "é 8 ü");
    assert_eq!(filled("", &[1]), "");
}

#[test]
fn characters_with_their_code_points() {
    let c = |c: char| filled("{c}", &[c as usize]);
    assert_eq!(c('!'), "'!' (U+0021)");
    assert_eq!(c('\''), "''' (U+0027)");
    assert_eq!(c('é'), "'é' (U+00E9)");
    assert_eq!(c('😀'), "'😀' (U+1F600)");
    assert_eq!(c('\u{10FFFF}'), "'\u{10FFFF}' (U+10FFFF)");
    assert_eq!(c('\n'), "U+000A");
    assert_eq!(c('\0'), "U+0000");
    assert_eq!(c('\u{85}'), "U+0085");
    assert_eq!(c('\u{2028}'), "U+2028");
    // A value that is no character: its code point alone.
    assert_eq!(filled("{c}", &[0xD800]), "U+D800");
    // Bare code points exactly for the general category Cc and the two separators.
    for c in ['\0'..='\u{2FF}', '\u{2000}'..='\u{20FF}']
        .into_iter()
        .flatten()
    {
        let bare = c.is_control() || c == '\u{2028}' || c == '\u{2029}';
        let code = format!("U+{:04X}", c as u32);
        let expected = if bare {
            code
        } else {
            format!("'{c}' ({code})")
        };
        assert_eq!(filled("{c}", &[c as usize]), expected);
    }
}

#[test]
fn display_is_the_explanation() {
    let errors: [&dyn Explain; 8] = [
        &FormatError::CrcMismatch {
            stored: 0x1234,
            computed: 0xCBF4_3926,
        },
        &FormatError::NonFinite {
            tensor: "why",
            index: 12,
        },
        &GenerateError::UnknownChar('!'),
        &GenerateError::Capacity {
            hidden: 600,
            vocab: 70,
            max_hidden: 512,
            max_vocab: 1024,
        },
        &SampleError::BadTemperature(f32::NAN),
        &ShapeError::TensorLength {
            tensor: "bh",
            expected: 8,
            found: 7,
        },
        &StepError::InputOutOfRange { index: 9, vocab: 3 },
        &VocabError::NotAscending { index: 4 },
    ];
    let expected = [
        "it is corrupted: CRC-32 is cbf43926, the file says 00001234",
        "weight why[12] is not a finite number",
        "the character '!' (U+0021) does not occur in the model's vocabulary",
        "the model (hidden 600, vocabulary 70) does not fit buffers for hidden 512, vocabulary 1024",
        "the temperature is NaN, not a finite number >= 0",
        "tensor bh has 7 elements, the shape needs 8",
        "input index 9 is outside the vocabulary of 3",
        "vocabulary character 4 is out of order or repeated",
    ];
    for (e, expected) in errors.into_iter().zip(expected) {
        assert_eq!(explained(e), expected);
    }
    assert_eq!(
        FormatError::NonFinite {
            tensor: "why",
            index: 12
        }
        .to_string(),
        expected[1]
    );
    assert_eq!(GenerateError::UnknownChar('!').to_string(), expected[2]);
    assert_eq!(
        StepError::InputOutOfRange { index: 9, vocab: 3 }.to_string(),
        expected[6]
    );
}

#[test]
fn display_stops_at_the_first_write_error() {
    struct Two;
    impl Explain for Two {
        fn explain(&self, out: &mut dyn SentenceOut) {
            out.fill("a {} b", &[2]);
        }
    }
    impl std::fmt::Display for Two {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            display_sentence(self, f)
        }
    }
    assert_eq!(format!("{Two}"), "a 2 b");
    /// Takes two writes, then fails.
    struct Short(usize);
    impl std::fmt::Write for Short {
        fn write_str(&mut self, _: &str) -> std::fmt::Result {
            self.0 += 1;
            if self.0 > 2 {
                Err(std::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut short = Short(0);
    assert!(std::fmt::write(&mut short, format_args!("{Two}")).is_err());
    assert_eq!(short.0, 3, "no write after the failed one");
}

proptest::proptest! {
    /// Any number, in any of the three placeholders, as `core::fmt` or the
    /// documented form prints it, and the text around it kept.
    #[test]
    fn any_value_fills_as_documented(n in proptest::prelude::any::<usize>(), code in 0u32..0x11_0000) {
        proptest::prop_assert_eq!(filled("a{}b", &[n]), format!("a{n}b"));
        proptest::prop_assert_eq!(filled("{x}", &[n]), format!("{:08x}", n as u32));
        let expected = match char::from_u32(code) {
            Some(c) if !(c.is_control() || c == '\u{2028}' || c == '\u{2029}') => {
                format!("'{c}' (U+{code:04X})")
            }
            _ => format!("U+{code:04X}"),
        };
        proptest::prop_assert_eq!(filled("{c}", &[code as usize]), expected);
    }
}
