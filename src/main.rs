use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = resetd::cli::Cli::parse();
    match resetd::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("resetd: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
