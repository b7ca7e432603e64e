//! The console: the board's UART, transmit only, polled. The drivers (one
//! per kind of UART, in [`crate::uart`]) say when the transmitter takes a
//! byte; this module waits for it, and gives up when it never does.

/// What the console needs of a UART's transmitter.
pub trait Transmitter {
    /// Whether it takes a byte now.
    fn ready(&self) -> bool;
    /// Hands it one byte (only called when [`Transmitter::ready`]).
    fn send(&mut self, byte: u8);
    /// Whether every byte handed over has gone out.
    fn idle(&self) -> bool;
}

/// Polls of a busy transmitter before the console is declared stalled:
/// far longer than a byte takes on hardware (about 1,000 polls at 115200
/// baud), and a fraction of a second under QEMU, whose UART stays busy for
/// ever once the host side of the console has gone (a closed pipe).
const STALL_POLLS: u32 = 1 << 24;

/// The console on transmitter `T`.
pub struct Console<T: Transmitter> {
    uart: T,
    /// Set when the transmitter stayed busy for [`STALL_POLLS`] polls; from
    /// then on bytes are dropped, so the firmware still ends.
    stalled: bool,
}

impl<T: Transmitter> Console<T> {
    /// The console on `uart`, which the board has set up.
    pub fn new(uart: T) -> Self {
        Self {
            uart,
            stalled: false,
        }
    }

    /// Sends one byte, waiting while the transmitter is busy.
    pub fn write_byte(&mut self, byte: u8) {
        self.wait_until(T::ready);
        if !self.stalled {
            self.uart.send(byte);
        }
    }

    /// Sends bytes in order.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_byte(b);
        }
    }

    /// Waits until the last byte has gone out.
    pub fn flush(&mut self) {
        self.wait_until(T::idle);
    }

    /// `true` if output was lost because the transmitter stopped taking bytes.
    pub fn stalled(&self) -> bool {
        self.stalled
    }

    /// Polls `ready` until it holds, at most [`STALL_POLLS`] times; marks the
    /// console stalled if it never does.
    fn wait_until(&mut self, ready: impl Fn(&T) -> bool) {
        if self.stalled {
            return;
        }
        for _ in 0..STALL_POLLS {
            if ready(&self.uart) {
                return;
            }
        }
        self.stalled = true;
    }
}

/// Error lines go straight to the UART, piece by piece (charm-core's
/// `sentence` module: no `core::fmt`).
impl<T: Transmitter> charm_core::SentenceOut for Console<T> {
    fn text(&mut self, text: &str) {
        self.write_bytes(text.as_bytes());
    }
}
