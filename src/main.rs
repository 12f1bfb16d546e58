//! The `switchboard` command: the library's faces for a terminal (check,
//! fmt, test, simulate, serve, backup). It uses only what the library
//! exports.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
