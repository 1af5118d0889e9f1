echo "bash says hi $pm_id"
sleep 60
