fn main() {
    std::process::exit(switchboard::cli::run());
}
