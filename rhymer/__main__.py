from rhymer.cli import entry

entry()
