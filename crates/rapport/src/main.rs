//! The `rapport` binary. Everything it does is [`rapport::program`], in the library (why: there).

fn main() -> std::process::ExitCode {
    rapport::program::main()
}
