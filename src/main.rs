//! The `blockgibbs` command line; see [`blockgibbs::cli`].

fn main() -> std::process::ExitCode {
    blockgibbs::cli::main()
}
