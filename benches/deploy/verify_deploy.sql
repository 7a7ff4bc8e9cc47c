select observe.verify_deploy('dpl_bench');
