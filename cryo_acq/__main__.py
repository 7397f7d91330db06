from cryo_acq.cli.main import main

main(prog_name="cryo-acq")
