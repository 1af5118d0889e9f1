use super::*;

#[test]
fn canonical_names_follow_pm2() {
    for (spec, name) in [
        ("pm2-logrotate", "pm2-logrotate"),
        ("pm2-logrotate@2.7.0", "pm2-logrotate"),
        ("@scope/my-mod@1.0.0", "my-mod"),
        ("ma-zal/pm2-slack#x", "pm2-slack"),
        ("https://host/user/pm2-slack.git", "pm2-slack"),
        ("pm2-slack-1.0.0.tgz", "pm2-slack"),
        ("./dist/my-module-0.2.1.tar.gz", "my-module"),
    ] {
        assert_eq!(canonical_name(spec), name, "{spec}");
    }
}

#[test]
fn set_get_unset_nest_keys_and_refuse_prototypes() {
    let mut conf = json!({});
    set(&mut conf, "mod:max_size", "1K").unwrap();
    set(&mut conf, "mod.retain", "5").unwrap();
    set(&mut conf, "pm2:registry", "http://r").unwrap();
    assert_eq!(
        conf,
        json!({"mod": {"max_size": "1K", "retain": "5"}, "pm2": {"registry": "http://r"}})
    );
    assert_eq!(get(&conf, "mod:retain"), Some(&json!("5")));
    assert!(matches!(
        set(&mut conf, "mod:__proto__", "x"),
        Err(KeyError::Forbidden(_))
    ));
    assert!(matches!(
        set(&mut conf, "nokey", "x"),
        Err(KeyError::Malformed(_))
    ));
    assert!(unset(&mut conf, "mod:retain"));
    assert!(!unset(&mut conf, "mod:retain"));
    assert!(unset(&mut conf, "pm2"));
    assert_eq!(conf, json!({"mod": {"max_size": "1K"}}));
}

#[test]
fn registries_and_seeding() {
    let mut conf = json!({"m": {"a": "mine"}});
    seed_defaults(&mut conf, "m", &json!({"a": "default", "b": false}));
    assert_eq!(conf["m"], json!({"a": "mine", "b": false}));
    let npm = Installed {
        name: ModuleName::parse("m").unwrap(),
        source: Source::Npm,
    };
    register(&mut conf, &npm, 1);
    let tar = Installed {
        name: ModuleName::parse("t").unwrap(),
        source: Source::Tarball("/x/t.tgz".into()),
    };
    register(&mut conf, &tar, 7);
    assert_eq!(conf[NPM_REGISTRY], json!({"m": {}}));
    assert_eq!(conf[TAR_REGISTRY]["t"]["install_url"], "/x/t.tgz");
    assert_eq!(installed(&conf), vec![npm, tar]);
    unregister(&mut conf, "t");
    assert_eq!(installed(&conf).len(), 1);
    assert_eq!(
        sections(&conf).len(),
        1,
        "registries are not config sections"
    );
}

#[test]
fn scoped_npm_packages_are_found_under_their_scope() {
    let base = std::env::temp_dir().join(format!("pm2-scoped-{}", std::process::id()));
    let pkg = base.join("node_modules").join("@acme").join("mod");
    fs::create_dir_all(&pkg).unwrap();
    fs::write(pkg.join("package.json"), "{}").unwrap();
    let m = Installed {
        name: ModuleName::parse("mod").unwrap(),
        source: Source::Npm,
    };
    assert_eq!(m.package_dir_in(&base), pkg);
    let t = Installed {
        name: ModuleName::parse("mod").unwrap(),
        source: Source::Tarball("x".into()),
    };
    assert_eq!(t.package_dir_in(&base), base);
    fs::remove_dir_all(&base).unwrap();
}

#[test]
fn keys_name_a_valid_module_and_never_a_registry() {
    assert_eq!(section_of("@acme/mod:greeting"), Ok("@acme/mod"));
    assert_eq!(key_path("@acme/mod:a").unwrap(), vec!["@acme/mod", "a"]);
    assert!(matches!(
        key_path("/x:key"),
        Err(KeyError::BadModule { .. })
    ));
    let err = key_path("a b:key").unwrap_err().to_string();
    assert!(err.contains("does not start with a module name"), "{err}");
    assert!(matches!(
        key_path("tar-modules:/etc"),
        Err(KeyError::Registry(_))
    ));
    assert!(matches!(
        key_path("module-db-v2:x"),
        Err(KeyError::Registry(_))
    ));
    let mut conf = json!({"tar-modules": {"m": {}}});
    assert!(!unset(&mut conf, "tar-modules"));
    assert_eq!(conf, json!({"tar-modules": {"m": {}}}));
}

#[test]
fn registry_entries_with_invalid_names_are_left_out() {
    let conf = json!({
        NPM_REGISTRY: {"ok": {}, "../../victim": {}},
        TAR_REGISTRY: {"/../x": {"install_url": "/t.tgz"}, "@acme/mod": {}}
    });
    let names: Vec<String> = installed(&conf)
        .iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(names, vec!["ok", "@acme/mod"]);
    let refused: Vec<String> = refused_entries(&conf).into_iter().map(|e| e.name).collect();
    assert_eq!(refused, vec!["../../victim", "/../x"]);
    let paths = Paths::new(PathBuf::from("/h"));
    let scoped = &installed(&conf)[1];
    assert_eq!(scoped.dir(&paths), PathBuf::from("/h/modules/@acme/mod"));
    assert_eq!(
        scoped.package_dir(&paths),
        PathBuf::from("/h/modules/@acme/mod")
    );
}

#[test]
fn a_package_named_out_of_its_folder_is_refused() {
    let dir = std::env::temp_dir().join(format!("pm2-badname-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("package.json"),
        r#"{"name": "/../../victim", "main": "x.js"}"#,
    )
    .unwrap();
    let err = Package::read(&dir).unwrap_err();
    assert!(matches!(err, PackageError::BadName(..)));
    assert!(
        err.to_string()
            .contains("Invalid module name \"/../../victim\""),
        "{err}"
    );
    fs::write(
        dir.join("package.json"),
        r#"{"name": "@acme/mod", "main": "x.js"}"#,
    )
    .unwrap();
    assert_eq!(Package::read(&dir).unwrap().name(), "@acme/mod");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn multiset_takes_pairs() {
    assert_eq!(
        multiset_pairs("a:x 1 b:y two").unwrap(),
        vec![("a:x".into(), "1".into()), ("b:y".into(), "two".into())]
    );
    assert!(multiset_pairs("a:x").is_err());
}

#[test]
fn package_apps_name_and_mark_modules() {
    let dir = std::env::temp_dir().join(format!("pm2-modpkg-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let write = |json: Value| fs::write(dir.join("package.json"), json.to_string()).unwrap();
    write(json!({"name": "m", "main": "lib/app.js"}));
    let apps = Package::read(&dir).unwrap().apps().unwrap();
    assert_eq!(apps[0]["script"], "lib/app.js");
    assert_eq!(apps[0]["name"], "m");
    assert_eq!(apps[0]["pmx_module"], true);
    assert_eq!(apps[0]["cwd"], dir.to_string_lossy().as_ref());
    write(json!({"name": "m", "bin": {"m": "bin/m"}, "main": "x.js"}));
    assert_eq!(
        Package::read(&dir).unwrap().apps().unwrap()[0]["script"],
        "bin/m"
    );
    write(
        json!({"name": "m", "apps": [{"name": "m", "script": "a.js", "max_memory_restart": "500M"}]}),
    );
    let apps = Package::read(&dir).unwrap().apps().unwrap();
    assert_eq!(
        (
            apps[0]["name"].as_str(),
            apps[0]["max_memory_restart"].as_str()
        ),
        (Some("m"), Some("500M"))
    );
    write(
        json!({"name": "m", "apps": [{"name": "w1", "script": "a.js"}, {"name": "w2", "script": "b.js"}]}),
    );
    let names: Vec<_> = Package::read(&dir)
        .unwrap()
        .apps()
        .unwrap()
        .iter()
        .map(|a| a["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("m:w1"), json!("m:w2")]);
    write(json!({"name": "m"}));
    assert!(matches!(
        Package::read(&dir).unwrap().apps(),
        Err(PackageError::NothingToRun(_))
    ));
    write(json!({"version": "1"}));
    assert!(matches!(Package::read(&dir), Err(PackageError::NoName(_))));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_updates_keep_every_key() {
    let home = std::env::temp_dir().join(format!("pm2-modconf-{}", std::process::id()));
    fs::create_dir_all(&home).unwrap();
    let paths = Paths::new(home.clone());
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let paths = paths.clone();
            std::thread::spawn(move || {
                update_conf(&paths, |c| set(c, &format!("m:k{i}"), "v"))
                    .unwrap()
                    .1
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let conf = read_conf(&paths).unwrap();
    assert_eq!(conf["m"].as_object().unwrap().len(), 32);
    let text = fs::read_to_string(&paths.module_conf).unwrap();
    assert!(text.contains("\n    \"m\": {"), "4-space indent: {text}");
    fs::write(&paths.module_conf, "{broken").unwrap();
    assert!(update_conf(&paths, |c| set(c, "m:x", "y")).is_err());
    assert_eq!(fs::read_to_string(&paths.module_conf).unwrap(), "{broken");
    fs::remove_dir_all(&home).unwrap();
}
