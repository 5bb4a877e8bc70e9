import './base.css';
import './files.css';
import './jobs.css';
import './apps.css';
import './results.css';
import './maps.css';
import './workflows.css';
