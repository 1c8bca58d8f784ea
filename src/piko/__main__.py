from piko.cli import main

raise SystemExit(main())
