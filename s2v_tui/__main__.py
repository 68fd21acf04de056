from s2v_tui.cli import main

raise SystemExit(main())
