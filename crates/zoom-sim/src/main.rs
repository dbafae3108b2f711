//! The `zoom-sim` binary. Everything it does is [`zoom_sim::program`], in the library (why: there).

fn main() -> std::process::ExitCode {
    zoom_sim::program::main()
}
