#[test]
fn dump() {
    let doc = resetd_api::resetd_api_mod::stub_api_description()
        .unwrap()
        .openapi("resetd", semver::Version::new(0, 1, 0))
        .json()
        .unwrap();
    std::fs::write(
        "/tmp/emitted.json",
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
}
