-- SQL Server Agent job Housekeeping_Purge_Archive_Logs (seed 003): daily at 03:30.
-- Files are the host's business: a CmdExec step runs `genepair housekeeping --only files`
-- (archive/ and logs/ older than 180 days; artifacts/ is never deleted). The Agent's
-- service account needs the project folder; GENEPAIR_* come from the step's environment.
USE msdb;
GO
IF EXISTS (SELECT 1 FROM msdb.dbo.sysjobs WHERE name = N'Housekeeping_Purge_Archive_Logs')
    EXEC msdb.dbo.sp_delete_job @job_name = N'Housekeeping_Purge_Archive_Logs';
EXEC msdb.dbo.sp_add_job @job_name = N'Housekeeping_Purge_Archive_Logs', @enabled = 1,
    @description = N'archive/ and logs/ files older than 180 days (never artifacts/)';
EXEC msdb.dbo.sp_add_jobstep @job_name = N'Housekeeping_Purge_Archive_Logs', @step_name = N'purge files',
    @subsystem = N'CmdExec',
    @command = N'C:\genepair\.venv\Scripts\genepair.exe housekeeping --only files --target sqlserver';
EXEC msdb.dbo.sp_add_schedule @schedule_name = N'daily_0330', @freq_type = 4, @freq_interval = 1,
    @active_start_time = 033000;
EXEC msdb.dbo.sp_attach_schedule @job_name = N'Housekeeping_Purge_Archive_Logs', @schedule_name = N'daily_0330';
EXEC msdb.dbo.sp_add_jobserver @job_name = N'Housekeeping_Purge_Archive_Logs';
GO
