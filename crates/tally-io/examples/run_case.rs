//! Runs one config like `urne tally CONFIG.json --out DIR` will.
fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(config), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: run_case CONFIG.json OUT_DIR");
        std::process::exit(2);
    };
    match urne_tally_io::run(config.as_ref(), out.as_ref()) {
        Ok(r) => println!(
            "winners {:?} rounds {} ballots {}",
            r.winners, r.rounds, r.ballots
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
