from rhymer.cli import main

main()
