use super::*;

#[test]
fn package_tarballs_are_named_as_npm_names_them_in_the_folder_asked() {
    let dir = std::env::temp_dir().join(format!("pm2-tgzname-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let name_of = |json: &str| {
        fs::write(dir.join("package.json"), json).unwrap();
        tarball_file_name(&Package::read(&dir).unwrap())
    };
    assert_eq!(
        name_of(r#"{"name": "@acme/mod", "version": "1.0.0"}"#).unwrap(),
        "acme-mod-1.0.0.tgz"
    );
    assert_eq!(name_of(r#"{"name": "m"}"#).unwrap(), "m-0.0.0.tgz");
    assert_eq!(
        name_of(r#"{"name": "m", "version": "2.0.0-rc.1+b2"}"#).unwrap(),
        "m-2.0.0-rc.1+b2.tgz"
    );
    for bad in ["1.0.0/../../x", "../x", "", "1 0"] {
        let json = serde_json::json!({"name": "m", "version": bad}).to_string();
        let err = name_of(&json).unwrap_err().to_string();
        assert!(err.contains("is not a version"), "{bad}: {err}");
    }
    fs::remove_dir_all(&dir).unwrap();
}
